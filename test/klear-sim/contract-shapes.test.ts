import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ObligationEntry } from '@app/klear-contract';
import { ENDPOINTS } from '@app/klear-contract';
import { SimHarness } from './sim-harness';

function expectConsistent(obligation: ObligationEntry): void {
  let pnl = 0n;
  let fees = 0n;
  let total = 0n;
  for (const detail of obligation.settlement_details) {
    expect(detail.total_amount_centicents).toBe(detail.pnl_centicents - detail.total_fees_centicents);
    expect(detail.total_fees_centicents >= 0n).toBe(true);
    pnl += detail.pnl_centicents;
    fees += detail.total_fees_centicents;
    total += detail.total_amount_centicents;
  }
  const margin = obligation.maintenance_margin_details.reduce((sum, d) => sum + d.maintenance_margin_centicents, 0n);
  const delta = obligation.maintenance_margin_details.reduce((sum, d) => sum + d.maintenance_margin_delta_centicents, 0n);
  expect(obligation.pnl_centicents).toBe(pnl);
  expect(obligation.fees_centicents).toBe(fees);
  expect(obligation.maintenance_margin_centicents).toBe(margin);
  expect(obligation.amount_centicents).toBe(total - delta);
}

describe('Klear simulator answers match the contract', () => {
  let harness: SimHarness;
  beforeAll(async () => {
    harness = await SimHarness.start({ seed: 11, subtraders: 12, markets: 9, days: 10, withdrawalFailureRate: 0 });
  });
  afterAll(() => harness.close());

  it('answers every read endpoint with a body the zod contract accepts', async () => {
    const paths: [keyof typeof ENDPOINTS, string][] = [
      ['marginReports', '/margin/reports?start_date=2026-11-10&end_date=2026-11-19'],
      ['activeObligation', '/margin/active_obligation'],
      ['obligationHistory', '/margin/obligation_history'],
      ['settlementEstimate', '/margin/settlement_estimate'],
      ['settlementEstimateByAssetClass', '/margin/settlement_estimate_by_asset_class'],
      ['settlementBalance', '/margin/settlement_balance'],
      ['settlementBalanceHistory', '/margin/settlement_balance_history'],
      ['guarantyFundBalance', '/margin/guaranty_fund_balance'],
      ['largeTraderPositions', '/margin/large_trader_positions?report_date=2026-11-18'],
    ];
    for (const [name, path] of paths) {
      const endpoint = ENDPOINTS[name];
      const answer = await harness.get(path);
      expect({ path, status: answer.status }).toEqual({ path, status: 200 });
      const parsed = endpoint.responseSchema.safeParse(answer.json);
      expect({ path, issues: parsed.success ? [] : parsed.error.issues }).toEqual({ path, issues: [] });
    }
  });

  it('serves consistent obligations whose totals are the sums of their details', async () => {
    const answer = await harness.get('/margin/obligation_history?limit=10');
    const { obligations } = ENDPOINTS.obligationHistory.responseSchema.parse(answer.json);
    expect(obligations).toHaveLength(10);
    for (const obligation of obligations) {
      expect(obligation.settlement_details).toHaveLength(12 * 9);
      expect(obligation.maintenance_margin_details).toHaveLength(12);
      expectConsistent(obligation);
      expect(obligation.receives.length).toBeLessThanOrEqual(1);
      for (const receive of obligation.receives) expect(receive.amount_centicents > 0n).toBe(true);
    }
    // Klear pays some cycles (a receive) and is paid in others (none).
    expect(obligations.some((o) => o.receives.length === 1)).toBe(true);
    expect(obligations.some((o) => o.receives.length === 0)).toBe(true);
  });

  it('shows an active obligation between settlement and payment, then moves the buffer by its amount', async () => {
    const before = ENDPOINTS.settlementBalance.responseSchema.parse((await harness.get('/margin/settlement_balance')).json);
    await harness.admin('POST', '/clock/settle-open-cycle');
    const active = ENDPOINTS.activeObligation.responseSchema.parse((await harness.get('/margin/active_obligation')).json);
    expect(active.obligation).not.toBeNull();
    expectConsistent(active.obligation as ObligationEntry);
    const state = await harness.admin('POST', '/clock/advance', { to: (await harness.admin('GET', '/state')).next_payment_at });
    expect(state.active_obligation_id).toBeNull();
    const after = ENDPOINTS.settlementBalance.responseSchema.parse((await harness.get('/margin/settlement_balance')).json);
    const history = ENDPOINTS.settlementBalanceHistory.responseSchema.parse((await harness.get('/margin/settlement_balance_history?limit=1')).json);
    expect(history.entries[0].balance_delta_centicents).toBe((active.obligation as ObligationEntry).amount_centicents);
    expect(after.balance_available_centicents - before.balance_available_centicents).toBe(history.entries[0].balance_delta_centicents);
  });

  it('updates a published obligation later: last_updated_ts moves and the fee change is settled in the buffer', async () => {
    const latest = async () =>
      ENDPOINTS.obligationHistory.responseSchema.parse((await harness.get('/margin/obligation_history?limit=5')).json).obligations;
    // Exactly one cycle in three gets a late fee correction, 1.25 cycles after it settled.
    const first: ObligationEntry[] = [];
    for (let i = 0; i < 3; i++) {
      await harness.admin('POST', '/clock/settle-open-cycle', { pay: true });
      first.push((await latest())[0]);
    }
    await harness.admin('POST', '/clock/advance', { seconds: 2 * 86_400 });
    const later = await latest();
    const changed = later.filter((obligation) => {
      const earlier = first.find((candidate) => candidate.id === obligation.id);
      return earlier !== undefined && earlier.last_updated_ts !== obligation.last_updated_ts;
    });
    expect(changed.length).toBe(1);
    for (const obligation of changed) {
      const earlier = first.find((candidate) => candidate.id === obligation.id) as ObligationEntry;
      expect(obligation.fees_centicents).toBeGreaterThan(earlier.fees_centicents);
      expect(obligation.amount_centicents).toBe(earlier.amount_centicents - (obligation.fees_centicents - earlier.fees_centicents));
      expectConsistent(obligation);
    }
    const history = ENDPOINTS.settlementBalanceHistory.responseSchema.parse((await harness.get('/margin/settlement_balance_history?limit=500')).json);
    expect(history.entries.some((entry) => entry.reason === 'obligation_adjustment')).toBe(true);
  });

  it('answers the withdrawal endpoints with an id and a fixed-point USD amount', async () => {
    const created = await harness.post('/margin/withdraw_settlement_balance', { amount: '1234.5' });
    const { id } = ENDPOINTS.withdrawSettlementBalance.responseSchema.parse(created.json);
    const status = ENDPOINTS.settlementBalanceWithdrawal.responseSchema.parse((await harness.get(`/margin/settlement_balance_withdrawal?id=${id}`)).json);
    expect(status).toMatchObject({ id, amount: '1234.50', status: 'pending' });
  });

  it('caps the by-asset-class breakdowns and counts what it left out', async () => {
    const big = await SimHarness.start({ seed: 3, subtraders: 1_500, markets: 4, days: 2 });
    try {
      const parsed = ENDPOINTS.settlementEstimateByAssetClass.responseSchema.parse((await big.get('/margin/settlement_estimate_by_asset_class')).json);
      for (const estimate of Object.values(parsed.asset_classes)) {
        const kept = Object.keys(estimate.subtrader_breakdowns ?? {}).length + Object.keys(estimate.group_breakdowns ?? {}).length;
        expect(kept).toBe(1_000);
        expect(kept + estimate.omitted_subtrader_count + estimate.omitted_group_count).toBe(1_500 + Math.ceil(1_500 / 8));
      }
      const all = ENDPOINTS.settlementEstimate.responseSchema.parse((await big.get('/margin/settlement_estimate')).json);
      const byClass = Object.values(parsed.asset_classes).reduce((sum, e) => sum + e.user_breakdown.variation_margin_centicents, 0n);
      expect(byClass).toBe(all.user_breakdown.variation_margin_centicents);
    } finally {
      await big.close();
    }
  });
});
