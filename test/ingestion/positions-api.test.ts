import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startWithdrawalWorld, type WithdrawalWorld } from '../withdrawals/withdrawal-world';

/** Issue 22: the guaranty fund and large-trader positions are pulled by jobs and read through the API; the estimate says its cycle. */
describe('guaranty fund and large-trader positions', () => {
  let w: WithdrawalWorld;
  const klear = async (path: string) => {
    const res = await fetch(`${w.sim.url}${path}`, {
      headers: { authorization: `Bearer ${w.sim.options.adminUserId}:${w.sim.options.accessToken}` },
    });
    expect(res.status).toBe(200);
    // Klear's JSON carries amounts and positions as big integers: keep them as text.
    return JSON.parse((await res.text()).replace(/("(?:amount_centicents|position)":\s*)(-?\d+)/g, '$1"$2"')) as Record<string, any>;
  };
  const run = async (job: string) => {
    const res = await w.api.http().post(`/jobs/${job}/run?wait=true`).set('Authorization', `Bearer ${w.api.tokens.operator}`);
    expect({ job, status: res.status, outcome: res.body.outcome, run: res.body.run?.status }).toEqual({
      job,
      status: 200,
      outcome: 'finished',
      run: 'succeeded',
    });
  };
  const get = (path: string) => w.api.http().get(path).set('Authorization', `Bearer ${w.api.tokens.viewer}`);

  beforeAll(async () => {
    w = await startWithdrawalWorld({ sim: { largeTraderThreshold: 1 } });
  });
  afterAll(async () => w?.close());

  it('answers the guaranty fund Klear reports, newest pull first, after the job pulled it; nothing before', async () => {
    expect((await get('/guaranty-fund')).body).toEqual({ data: [], next_cursor: null });
    await run('guaranty_fund');
    await run('guaranty_fund');
    const fund = await klear('/margin/guaranty_fund_balance');
    const res = await get('/guaranty-fund?limit=1');
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(1);
    expect(res.body.data[0]).toMatchObject({
      amount_centicents: fund.amount_centicents,
      user_id: fund.user_id,
      updated_ts: new Date(fund.updated_ts).toISOString(),
    });
    expect(res.body.data[0].amount_usd).toMatch(/^-?\$[\d,]+\.\d{4}$/);
    const next = await get(`/guaranty-fund?limit=1&cursor=${res.body.next_cursor}`);
    expect(next.body.data).toHaveLength(1);
    expect(Date.parse(next.body.data[0].pulled_at)).toBeLessThanOrEqual(Date.parse(res.body.data[0].pulled_at));
  });

  it("answers the newest day's large-trader positions as Klear reports them, largest absolute position first (numerically), and a named day", async () => {
    expect((await get('/large-trader-positions')).body).toMatchObject({ report_date: null, positions: [] });
    await run('large_trader_positions');
    const report = await klear('/margin/large_trader_positions');
    const res = await get('/large-trader-positions');
    expect(res.status).toBe(200);
    expect(res.body.report_date).toBe(report.report_date);
    const expected = ((report.positions ?? []) as Array<{ market_ticker: string; position: string }>)
      .map((p) => ({ market_ticker: p.market_ticker, position: p.position }))
      .sort((a, b) => {
        const [x, y] = [
          BigInt(a.position) < 0n ? -BigInt(a.position) : BigInt(a.position),
          BigInt(b.position) < 0n ? -BigInt(b.position) : BigInt(b.position),
        ];
        return x > y ? -1 : x < y ? 1 : a.market_ticker < b.market_ticker ? -1 : 1;
      });
    expect(expected.length).toBeGreaterThan(1);
    expect(res.body.positions).toEqual(expected);
    expect(res.body.report_dates).toContain(report.report_date);
    expect((await get(`/large-trader-positions?report_date=${report.report_date}`)).body.positions).toEqual(expected);
    expect((await get('/large-trader-positions?report_date=1999-01-01')).status).toBe(404);
    expect((await get('/large-trader-positions?report_date=yesterday')).status).toBe(400);
  });

  it("says which cycle the settlement estimate is for: Klear's next_runtime of each asset class, the earliest on top", async () => {
    await run('settlement_estimate');
    const answer = await klear('/margin/settlement_estimate_by_asset_class');
    const expected = Object.entries(answer.estimates as Record<string, { next_runtime: string }>)
      .map(([assetClass, e]) => ({ asset_class: assetClass, next_runtime: new Date(e.next_runtime).toISOString() }))
      .sort((a, b) =>
        a.next_runtime < b.next_runtime ? -1 : a.next_runtime > b.next_runtime ? 1 : a.asset_class < b.asset_class ? -1 : 1,
      );
    expect(expected.length).toBeGreaterThan(0);
    const res = await get('/settlement/estimate');
    expect(res.body.for_cycles).toEqual(expected);
    expect(res.body.next_runtime).toBe(expected[0].next_runtime);
  });
});
