import { describe, expect, it } from '@jest/globals';
import { ManualClock } from '@app/clock';
import type { AppConfig } from '@app/config';
import { KlearHttpError, KlearTimeoutError } from '@app/klear-client';
import pg from 'pg';
import { QueryFailedError } from 'typeorm';
import { BufferHeadroomService } from './buffer-headroom.service';
import { BufferBalanceUnavailable } from './withdrawal-errors';
import type { BufferPositionSource } from './withdrawal-ports';
import type { WithdrawalRepository } from './withdrawal.repository';

/** A position with two asset classes: one payable and one receivable obligation, likewise estimates. */
function position(): BufferPositionSource {
  const pulledAt = new Date(Date.parse('2026-12-02T10:00:00Z'));
  return {
    latestBalance: async () => ({ available: 10_000_000n, locked: 0n, pulledAt }),
    refreshBalance: async () => ({ available: 10_000_000n, locked: 0n, pulledAt }),
    activeObligations: async () => [
      { id: 'obl-crypto', assetClass: 'Crypto', amountCenticents: -3_000_000n },
      { id: 'obl-equity', assetClass: 'Equity', amountCenticents: 5_000_000n },
    ],
    latestEstimate: async () => ({
      pulledAt,
      byAssetClass: [
        { assetClass: 'Crypto', totalAmountCenticents: 400_000n },
        { assetClass: 'Equity', totalAmountCenticents: -1_000_000n },
      ],
    }),
  };
}

describe('withdrawal headroom across asset classes', () => {
  const repository = { notYetLocked: async () => ({ total: 0n, ids: [] }) } as unknown as WithdrawalRepository;
  const config = { withdrawals: { balanceMaxAgeSeconds: 1e9 } } as unknown as AppConfig;

  it('reserves every payable obligation and estimate; a receivable class never offsets another class, and each is shown', async () => {
    const service = new BufferHeadroomService(position(), repository, config, new ManualClock(Date.parse('2026-12-02T10:00:05Z')));
    const result = await service.assess(1n, 100n);
    // 10,000,000 - (3,000,000 Crypto obligation + 1,000,000 Equity estimate + 100 floor).
    expect(result.reserve).toBe(4_000_100n);
    expect(result.headroom).toBe(5_999_900n);
    expect(result.figures).toMatchObject({
      reserve_active_obligation_payable_centicents: '3000000',
      reserve_estimate_payable_centicents: '1000000',
      active_obligation_id: 'obl-crypto,obl-equity',
      active_obligations: [
        { asset_class: 'Crypto', id: 'obl-crypto', amount_centicents: '-3000000', payable_centicents: '3000000' },
        { asset_class: 'Equity', id: 'obl-equity', amount_centicents: '5000000', payable_centicents: '0' },
      ],
      estimates_by_asset_class: [
        { asset_class: 'Crypto', total_amount_centicents: '400000', payable_centicents: '0' },
        { asset_class: 'Equity', total_amount_centicents: '-1000000', payable_centicents: '1000000' },
      ],
    });
    expect((await service.assess(5_999_900n, 100n)).ok).toBe(true);
    expect((await service.assess(5_999_901n, 100n)).ok).toBe(false);
  });
});

describe('withdrawal headroom when a figure cannot be refreshed', () => {
  const repository = { notYetLocked: async () => ({ total: 0n, ids: [] }) } as unknown as WithdrawalRepository;
  // Every snapshot is stale: each figure is read from Klear first.
  const config = { withdrawals: { balanceMaxAgeSeconds: 0 } } as unknown as AppConfig;
  const clock = new ManualClock(Date.parse('2026-12-02T12:00:00Z'));
  const failing = (step: 'balance' | 'obligations', error: Error): BufferPositionSource => {
    const p = position();
    return step === 'balance'
      ? { ...p, refreshBalance: async () => Promise.reject(error) }
      : { ...p, activeObligations: async () => Promise.reject(error) };
  };
  const refusal = async (source: BufferPositionSource) => {
    const service = new BufferHeadroomService(source, repository, config, clock);
    return service.assess(1n, 0n).then(
      () => null,
      (error: unknown) => error,
    );
  };

  it("a Klear failure is KLEAR_UNAVAILABLE with Klear's reason, for the balance and for the reserve figures", async () => {
    const timeout = await refusal(failing('balance', new KlearTimeoutError('GET /margin/settlement_balance', 15000)));
    expect(timeout).toBeInstanceOf(BufferBalanceUnavailable);
    expect((timeout as BufferBalanceUnavailable).message).toContain('did not answer within 15000 ms');
    const status = await refusal(
      failing('obligations', new KlearHttpError('GET /margin/active_obligations', 502, undefined, 'bad gateway', undefined)),
    );
    expect(status).toBeInstanceOf(BufferBalanceUnavailable);
    expect((status as BufferBalanceUnavailable).message).toMatch(
      /^the settlement buffer balance could not be refreshed from Klear \(reserve figures: /,
    );
    // Klear's own 503 whose message reads like a database outage (Klear's database is down) is still Klear's.
    const klearDb = new KlearHttpError(
      'GET /margin/settlement_balance',
      503,
      'unavailable',
      'Connection terminated unexpectedly',
      undefined,
    );
    expect(((await refusal(failing('balance', klearDb))) as BufferBalanceUnavailable).code).toBe('KLEAR_UNAVAILABLE');
    // Klear answered, but paging its answer did not end: still Klear's figures missing, still KLEAR_UNAVAILABLE.
    const paging = await refusal(failing('obligations', new Error('obligation o-1: settlements paging repeated a cursor')));
    expect((paging as BufferBalanceUnavailable).code).toBe('KLEAR_UNAVAILABLE');
  });

  it('a database failure while keeping the answer stays a database failure, not a report that Klear was down', async () => {
    const connect = new Error('timeout exceeded when trying to connect');
    expect(await refusal(failing('balance', connect))).toBe(connect);
    const refused = new pg.DatabaseError('duplicate key value violates unique constraint', 0, 'error');
    expect(await refusal(failing('obligations', refused))).toBe(refused);
    const typeorm = new QueryFailedError('INSERT INTO klear_response_archive ...', [], new Error('permission denied'));
    expect(await refusal(failing('balance', typeorm))).toBe(typeorm);
  });
});
