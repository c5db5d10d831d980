import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ObligationEntry } from '@app/klear-contract';
import { ENDPOINTS } from '@app/klear-contract';
import { DETAIL_LIST_ENDPOINTS } from '@app/klear-client';
import { SimulatorWorld } from './simulator-world';

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
  const funding = obligation.funding_payments.reduce((sum, f) => sum + f.funding_amount_centicents, 0n);
  expect(obligation.pnl_centicents).toBe(pnl);
  expect(obligation.fees_centicents).toBe(fees);
  expect(obligation.maintenance_margin_centicents).toBe(margin);
  expect(obligation.amount_centicents).toBe(total - delta + funding);
}

/** Reads a detail list in full through its paged endpoint. */
async function pagedList<T>(
  harness: SimulatorWorld,
  obligationId: string,
  list: 'settlement_details' | 'maintenance_margin_details' | 'funding_payments',
  limit: number,
): Promise<{ rows: T[]; pages: number }> {
  const name = DETAIL_LIST_ENDPOINTS[list];
  const rows: T[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const answer = await harness.get(`/margin/obligations/${obligationId}/${list}?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(answer.status).toBe(200);
    const page = ENDPOINTS[name].responseSchema.parse(answer.json) as unknown as Record<string, T[]> & { cursor?: string };
    rows.push(...page[list]);
    cursor = page.cursor;
    pages++;
  } while (cursor);
  return { rows, pages };
}

describe('Klear simulator answers match the contract', () => {
  let harness: SimulatorWorld;
  beforeAll(async () => {
    harness = await SimulatorWorld.start({ seed: 11, subtraders: 12, markets: 9, days: 10, withdrawalFailureRate: 0 });
  });
  afterAll(() => harness.close());

  it('answers every read endpoint with a body the zod contract accepts', async () => {
    const paths: [keyof typeof ENDPOINTS, string][] = [
      ['marginReports', '/margin/reports?start_date=2026-11-10&end_date=2026-11-19'],
      ['activeObligations', '/margin/active_obligations'],
      ['obligationHistory', '/margin/obligation_history'],
      ['settlementEstimateByAssetClass', '/margin/settlement_estimate_by_asset_class'],
      ['settlementPrices', '/margin/settlement_prices?asset_class=Crypto&settlement_time=2026-11-19T22:00:00Z'],
      ['subtraderGroups', '/fcm/margin/subtrader_groups'],
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
    const active = ENDPOINTS.activeObligations.responseSchema.parse((await harness.get('/margin/active_obligations')).json);
    expect(active.obligations).toHaveLength(1);
    expect(active.obligations[0].asset_class).toBe('Crypto');
    expectConsistent(active.obligations[0]);
    const state = await harness.admin('POST', '/clock/advance', { to: (await harness.admin('GET', '/state')).next_payment_at });
    expect(state.active_obligation_id).toBeNull();
    const after = ENDPOINTS.settlementBalance.responseSchema.parse((await harness.get('/margin/settlement_balance')).json);
    const history = ENDPOINTS.settlementBalanceHistory.responseSchema.parse(
      (await harness.get('/margin/settlement_balance_history?limit=1')).json,
    );
    expect(history.entries[0].balance_delta_centicents).toBe(active.obligations[0].amount_centicents);
    const none = await harness.get('/margin/active_obligations');
    expect(ENDPOINTS.activeObligations.responseSchema.parse(none.json).obligations).toEqual([]);
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
    const history = ENDPOINTS.settlementBalanceHistory.responseSchema.parse(
      (await harness.get('/margin/settlement_balance_history?limit=500')).json,
    );
    expect(history.entries.some((entry) => entry.reason === 'obligation_adjustment')).toBe(true);
  });

  it('answers the withdrawal endpoints with an id and a fixed-point USD amount', async () => {
    const created = await harness.post('/margin/withdraw_settlement_balance', { amount: '1234.5' });
    const { id } = ENDPOINTS.withdrawSettlementBalance.responseSchema.parse(created.json);
    const status = ENDPOINTS.settlementBalanceWithdrawal.responseSchema.parse(
      (await harness.get(`/margin/settlement_balance_withdrawal?id=${id}`)).json,
    );
    expect(status).toMatchObject({ id, amount: '1234.50', status: 'pending' });
  });

  it('answers the removed endpoints 404, as the live API does', async () => {
    for (const path of ['/margin/active_obligation', '/margin/settlement_estimate']) {
      expect({ path, status: (await harness.get(path)).status }).toEqual({ path, status: 404 });
    }
    expect((await harness.request('POST', '/log_in', { body: '{"email":"a","password":"b"}', auth: false })).status).toBe(404);
  });

  it('caps the by-asset-class breakdowns at 1,000 subtraders and groups together and counts what it left out', async () => {
    const big = await SimulatorWorld.start({ seed: 3, subtraders: 1_500, markets: 4, days: 2, marginGroups: true });
    try {
      const parsed = ENDPOINTS.settlementEstimateByAssetClass.responseSchema.parse(
        (await big.get('/margin/settlement_estimate_by_asset_class')).json,
      );
      expect(Object.keys(parsed.estimates)).toEqual(['Crypto']);
      const estimate = parsed.estimates.Crypto;
      const kept = Object.keys(estimate.subtrader_breakdowns ?? {}).length + Object.keys(estimate.group_breakdowns ?? {}).length;
      expect(kept).toBe(1_000);
      // 1,000 ungrouped subtraders and 125 groups of four (every third subtrader is grouped).
      expect(kept + (estimate.omitted_subtrader_count ?? 0) + (estimate.omitted_group_count ?? 0)).toBe(1_000 + 125);
      expect(Date.parse(estimate.next_runtime)).toBeGreaterThan(Date.parse('2026-11-20T21:00:00Z'));
      const groups = ENDPOINTS.subtraderGroups.responseSchema.parse((await big.get('/fcm/margin/subtrader_groups')).json).groups;
      expect(groups).toHaveLength(125);
      expect(groups[0].member_subtrader_ids).toEqual(['ST-00001', 'ST-00004', 'ST-00007', 'ST-00010']);
    } finally {
      await big.close();
    }
  });

  it('cuts inline lists at 1,000 rows with the flags set, and serves the complete lists on the paged endpoints', async () => {
    // 60 subtraders x 25 markets = 1,500 settlement details; funding 3 times a cycle.
    const big = await SimulatorWorld.start({ seed: 5, subtraders: 60, markets: 25, days: 3, fundingPerCycle: 3, marginGroups: true });
    try {
      const [entry] = ENDPOINTS.obligationHistory.responseSchema.parse(
        (await big.get('/margin/obligation_history?limit=1')).json,
      ).obligations;
      expect(entry.settlement_details).toHaveLength(1_000);
      expect(entry.settlement_details_truncated).toBe(true);
      expect(entry.funding_payments_truncated).toBe(true);
      expect(entry.maintenance_margin_details_truncated).toBe(false);
      const details = await pagedList<ObligationEntry['settlement_details'][number]>(big, entry.id, 'settlement_details', 400);
      expect(details.rows).toHaveLength(1_500);
      expect(details.pages).toBe(4);
      expect(new Set(details.rows.map((d) => d.id)).size).toBe(1_500);
      expect(details.rows.slice(0, 1_000)).toEqual(entry.settlement_details);
      const funding = await pagedList<ObligationEntry['funding_payments'][number]>(big, entry.id, 'funding_payments', 1_000);
      expect(funding.rows.length).toBeGreaterThan(1_000);
      // Funding times: three a cycle, the last at the cycle itself.
      expect(new Set(funding.rows.map((f) => f.funding_time)).size).toBe(3);
      expect(funding.rows.some((f) => f.funding_time === entry.execution_time)).toBe(true);
      expectConsistent({ ...entry, settlement_details: details.rows, funding_payments: funding.rows });
      // Grouped subtraders have no margin row of their own: their group's netted row carries it.
      const grouped = entry.maintenance_margin_details.filter((m) => m.margin_group_id !== undefined);
      expect(grouped).toHaveLength(5);
      for (const row of grouped) expect(row.subtrader_id).toBe('');
      expect(entry.maintenance_margin_details.filter((m) => m.margin_group_id === undefined)).toHaveLength(40);
      // The member-level funding payments of one funding time add up to the obligation's payments at that time.
      const fundingTime = entry.execution_time;
      const member = ENDPOINTS.memberFundingPayments.responseSchema.parse(
        (await big.get(`/margin/funding_payments?funding_time=${fundingTime}&limit=10000`)).json,
      );
      const atTime = funding.rows.filter((f) => f.funding_time === fundingTime);
      expect(member.payments.length).toBe(atTime.length);
      expect(member.payments.reduce((sum, p) => sum + p.funding_amount_centicents, 0n)).toBe(
        atTime.reduce((sum, f) => sum + f.funding_amount_centicents, 0n),
      );
      expect((await big.get('/margin/obligations/obl-00000000-00000000/settlement_details')).status).toBe(404);
      expect((await big.get(`/margin/obligations/${entry.id}/settlement_details?cursor=nonsense`)).status).toBe(400);
    } finally {
      await big.close();
    }
  });

  it('serves one obligation per asset class when the world has two', async () => {
    const two = await SimulatorWorld.start({ seed: 9, subtraders: 6, markets: 8, days: 3, assetClasses: 'Crypto,Equity' });
    try {
      await two.admin('POST', '/clock/settle-open-cycle');
      const active = ENDPOINTS.activeObligations.responseSchema.parse((await two.get('/margin/active_obligations')).json).obligations;
      expect(active.map((o) => o.asset_class)).toEqual(['Crypto', 'Equity']);
      expect(new Set(active.map((o) => o.id)).size).toBe(2);
      for (const obligation of active) {
        expectConsistent(obligation);
        expect(obligation.settlement_details).toHaveLength(6 * 4);
        const prefix = obligation.asset_class === 'Crypto' ? 'CRY-' : 'EQU-';
        for (const detail of obligation.settlement_details) expect(detail.market_ticker.startsWith(prefix)).toBe(true);
      }
      const history = ENDPOINTS.obligationHistory.responseSchema.parse(
        (await two.get('/margin/obligation_history?limit=2')).json,
      ).obligations;
      expect(history).toHaveLength(4);
      const estimates = ENDPOINTS.settlementEstimateByAssetClass.responseSchema.parse(
        (await two.get('/margin/settlement_estimate_by_asset_class')).json,
      ).estimates;
      expect(Object.keys(estimates).sort()).toEqual(['Crypto', 'Equity']);
      const prices = ENDPOINTS.settlementPrices.responseSchema.parse(
        (await two.get(`/margin/settlement_prices?asset_class=Equity&settlement_time=${active[0].execution_time}`)).json,
      ).settlement_prices;
      expect(Object.keys(prices)).toHaveLength(4);
      for (const ticker of Object.keys(prices)) expect(ticker.startsWith('EQU-')).toBe(true);
    } finally {
      await two.close();
    }
  });
});
