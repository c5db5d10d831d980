import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ObligationEntry, SettlementBalanceHistoryEntry } from '@app/klear-contract';
import { SimulatorWorld, walkPages } from './simulator-world';

describe('Klear simulator pagination', () => {
  let harness: SimulatorWorld;
  beforeAll(async () => {
    harness = await SimulatorWorld.start({ seed: 21, subtraders: 5, markets: 6, days: 23 });
    // State that is not derived from the seed shows up in the history too.
    await harness.admin('POST', '/deposits', { amount_centicents: '5000000' });
    await harness.post('/margin/withdraw_settlement_balance', { amount: '100.00' });
    await harness.post('/margin/withdraw_settlement_balance', { amount: '200.00' });
  });
  afterAll(() => harness.close());

  it('walks the obligation history most recent first, every cycle exactly once, no cursor on the last page', async () => {
    const { items, pages } = await walkPages<ObligationEntry>(harness, '/margin/obligation_history', 'obligations', 5);
    expect(pages).toBe(5);
    expect(items).toHaveLength(23);
    expect(new Set(items.map((o) => o.id)).size).toBe(23);
    const times = items.map((o) => Date.parse(o.execution_time));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const truth = await harness.admin('GET', '/truth');
    expect(items.map((o) => o.id)).toEqual(truth.obligations.map((o: ObligationEntry) => o.id));
  });

  it('walks the balance history most recent first, every movement exactly once, equal to the truth export', async () => {
    const { items } = await walkPages<SettlementBalanceHistoryEntry>(harness, '/margin/settlement_balance_history', 'entries', 4);
    const truth = await harness.admin('GET', '/truth');
    // Same-instant movements (a frozen clock) still come once each, in a stable order.
    expect(items).toEqual(truth.settlement_balance_history);
    expect(items.filter((entry) => entry.reason === 'withdrawal_locked')).toHaveLength(2);
    const balance = items.reduce((sum, entry) => sum + entry.balance_delta_centicents, 0n);
    expect(balance).toBe(truth.settlement_balance.balance_available_centicents);
  });

  it('answers an empty last page with no cursor (absent or "", as the live API) when the cursor is older than every cycle', async () => {
    const answer = await harness.get('/margin/obligation_history?cursor=2000-01-01T00:00:00Z');
    const body = answer.json as { obligations: unknown[]; cursor?: string };
    expect(body.obligations).toEqual([]);
    expect(['absent', '']).toContain(body.cursor ?? 'absent');
  });
});

describe('Klear simulator determinism', () => {
  const paths = [
    '/margin/obligation_history?limit=100',
    '/margin/obligation_history?limit=3&cursor=2026-11-15T22:00:00Z',
    '/margin/active_obligations',
    '/margin/settlement_estimate_by_asset_class',
    '/margin/settlement_balance',
    '/margin/settlement_balance_history?limit=500',
    '/margin/guaranty_fund_balance',
    '/margin/large_trader_positions',
    '/margin/reports?start_date=2026-11-01&end_date=2026-11-30',
  ];
  const options = { subtraders: 30, markets: 12, days: 20, filesBaseUrl: 'https://files.klear.test' };
  let first: SimulatorWorld;
  let second: SimulatorWorld;
  let other: SimulatorWorld;
  beforeAll(async () => {
    [first, second, other] = await Promise.all([
      SimulatorWorld.start({ ...options, seed: 99 }),
      SimulatorWorld.start({ ...options, seed: 99 }),
      SimulatorWorld.start({ ...options, seed: 100 }),
    ]);
  });
  afterAll(() => Promise.all([first.close(), second.close(), other.close()]));

  it('gives byte-identical bodies for the same seed and configuration, and different ones for another seed', async () => {
    for (const harness of [first, second, other]) await harness.admin('POST', '/clock/advance', { seconds: 3_600 + 1_800 });
    for (const path of paths) {
      const [a, b, c] = await Promise.all([first.get(path), second.get(path), other.get(path)]);
      expect({ path, status: a.status }).toEqual({ path, status: 200 });
      expect({ path, same: a.text === b.text }).toEqual({ path, same: true });
      if (!path.includes('reports')) expect({ path, differs: a.text !== c.text }).toEqual({ path, differs: true });
    }
    const withdrawals = await Promise.all([first, second].map((h) => h.post('/margin/withdraw_settlement_balance', { amount: '42.00' })));
    expect(withdrawals[0].text).toBe(withdrawals[1].text);
  });
});
