import { describe, expect, it } from '@jest/globals';
import { ManualClock } from '@app/clock';
import type { AppConfig } from '@app/config';
import { BufferHeadroomService } from './buffer-headroom.service';
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
