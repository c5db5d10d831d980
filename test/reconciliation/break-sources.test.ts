import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buffer, ReconWorld, trade } from './recon-world';

/*
 * Issue 22: a break shows Klear's transaction id (not our row numbers), and the running-balance
 * breaks a missing movement causes point at the movement's break, their root cause.
 * Cycles are 17:00 ET on four ET days (22:00Z in November, EST).
 */
const CYCLES = ['2026-11-03T22:00:00Z', '2026-11-04T22:00:00Z', '2026-11-05T22:00:00Z', '2026-11-06T22:00:00Z'];
const et = (date: string, hhmm: string) => new Date(`${date}T${hhmm}:00-05:00`).toISOString();

interface BreakBody {
  id: string;
  key: string;
  reason_code: string;
  difference_centicents: string;
  klear_transaction_ids: string[];
  root_cause_break_id: string | null;
  derived_from: null | {
    breaks: Array<{ break_id: string; key: string; klear_transaction_ids: string[]; difference_centicents: string }>;
    difference_centicents: string;
    explains_difference: boolean;
  };
}

describe('what a break derives from', () => {
  let world: ReconWorld;
  const http = () => world.api.http();
  const list = async (query: string): Promise<BreakBody[]> => {
    const res = await http().get(`/breaks?${query}&limit=500`).set('authorization', world.as('viewer'));
    expect(res.status).toBe(200);
    return res.body.data as BreakBody[];
  };

  beforeAll(async () => {
    world = await ReconWorld.start();
    for (const [i, cycle] of CYCLES.entries()) {
      await world.obligation({ cycle, details: [{ subtrader: 'S1', market: 'M1', pnl: 1_000n, id: `sd-${i + 1}-S1-M1` }] });
      await world.post([trade(`t/${i + 1}/S1`, cycle, 'S1', [{ market: 'M1', pnl: i === 0 ? 990n : 1_000n }])]);
    }
    // Klear received 5,000 on the first day (RCPT-20261103-1); the ledger never booked it. A payment both sides know.
    await world.balance([
      { ref: 'RCPT-20261103-1', at: et('2026-11-03', '10:00'), delta: 5_000n, reason: 'receipt' },
      { ref: 'PAY-20261104-1', at: et('2026-11-04', '09:00'), delta: -700n },
    ]);
    await world.post([buffer('buf-pay-1104', et('2026-11-04', '09:00'), -700n, { reference: 'PAY-20261104-1' })]);
    for (const cycle of CYCLES) await world.run(cycle);
  });
  afterAll(() => world.close());

  it("four running-balance breaks caused by one missing receipt all name it as their root cause, with Klear's transaction id", async () => {
    const buffers = await list('check=settlement_buffer');
    const receipt = buffers.find((b) => b.key === 'settlement_buffer/RCPT-20261103-1')!;
    expect(receipt).toMatchObject({
      reason_code: 'missing_internal',
      difference_centicents: '5000',
      klear_transaction_ids: ['RCPT-20261103-1'],
      root_cause_break_id: null,
      derived_from: null,
    });
    const running = buffers.filter((b) => b.reason_code === 'balance_mismatch');
    expect(running.map((b) => b.key)).toEqual(CYCLES.map((c) => `settlement_buffer/${c}/running_balance`));
    for (const b of running) {
      expect(b).toMatchObject({
        difference_centicents: '5000',
        root_cause_break_id: receipt.id,
        klear_transaction_ids: ['RCPT-20261103-1'],
      });
      expect(b.derived_from).toEqual({
        breaks: [
          expect.objectContaining({
            break_id: receipt.id,
            key: receipt.key,
            klear_transaction_ids: ['RCPT-20261103-1'],
            difference_centicents: '5000',
          }),
        ],
        difference_centicents: '5000',
        difference_usd: '$0.5000',
        explains_difference: true,
      });
    }
    // One break in full says the same.
    const one = await http().get(`/breaks/${running[3].id}`).set('authorization', world.as('viewer'));
    expect(one.body).toMatchObject({
      root_cause_break_id: receipt.id,
      klear_transaction_ids: ['RCPT-20261103-1'],
      derived_from: { explains_difference: true },
    });
  });

  it("an obligation break names Klear's settlement detail, not a row of ours", async () => {
    const [detail] = await list('check=settlement_details');
    expect(detail).toMatchObject({
      key: `settlement_details/${CYCLES[0]}/S1/M1`,
      klear_transaction_ids: ['sd-1-S1-M1'],
      root_cause_break_id: null,
      derived_from: null,
    });
  });

  it('once the receipt is booked, the reruns close the movement break and the running balances it caused', async () => {
    await world.post([buffer('buf-rcpt-1103', et('2026-11-03', '10:00'), 5_000n, { reference: 'RCPT-20261103-1' })]);
    for (const cycle of CYCLES) await world.reconciliation.runCycleIfStale(new Date(cycle), 'Crypto', 'test');
    expect(await list('check=settlement_buffer&status=unresolved')).toEqual([]);
  });
});
