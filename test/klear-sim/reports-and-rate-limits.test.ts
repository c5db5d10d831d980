import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ENDPOINTS } from '@app/klear-contract';
import { SimulatorWorld } from './simulator-world';

describe('Klear simulator margin reports', () => {
  let harness: SimulatorWorld;
  beforeAll(async () => {
    harness = await SimulatorWorld.start({ seed: 41, subtraders: 6, markets: 8, days: 5, reportUrlTtlSeconds: 900 });
  });
  afterAll(() => harness.close());

  const list = async () =>
    ENDPOINTS.marginReports.responseSchema.parse((await harness.get('/margin/reports?start_date=2026-11-01&end_date=2026-11-30')).json)
      .reports;

  it('lists the five report types for each settled day, with files matching the truth export checksums', async () => {
    const reports = await list();
    expect(reports).toHaveLength(5 * 5);
    expect(new Set(reports.map((r) => r.date))).toEqual(new Set(['2026-11-15', '2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19']));
    const truth = await harness.admin('GET', '/truth');
    for (const report of reports.filter((r) => r.date === '2026-11-19')) {
      const response = await fetch(report.url);
      expect(response.status).toBe(200);
      const body = await response.text();
      const expected = truth.reports.find(
        (r: { date: string; report_type: string }) => r.date === report.date && r.report_type === report.report_type,
      );
      expect(createHash('sha256').update(body).digest('hex')).toBe(expected.sha256);
      expect(body.split('\n')[0]).toMatch(
        report.report_type === 'market_price_snapshot' ? /^report_date,execution_time,market_ticker/ : /^report_date,/,
      );
    }
    const prices = await (await fetch(reports.find((r) => r.report_type === 'market_price_snapshot')!.url)).text();
    expect(prices.trim().split('\n')).toHaveLength(1 + 8);
  });

  it('refuses a tampered signature and an expired URL with 403', async () => {
    const [report] = await list();
    const tampered = report.url.replace(/signature=([0-9a-f])/, (_, c: string) => `signature=${c === '0' ? '1' : '0'}`);
    expect((await fetch(tampered)).status).toBe(403);
    expect((await fetch(report.url.replace('trade_audit', 'position_snapshot'))).status).toBe(403);
    await harness.admin('POST', '/clock/advance', { seconds: 901 });
    expect((await fetch(report.url)).status).toBe(403);
    expect((await fetch((await list())[0].url)).status).toBe(200);
  });
});

describe('Klear simulator rate limits', () => {
  it('answers 429 with Retry-After beyond the Basic tier read budget when enforcement is on', async () => {
    const harness = await SimulatorWorld.start({ seed: 2, rateLimit: true, tier: 'basic', days: 2 });
    try {
      // The limiter's clock held in one one-second window: the whole burst falls in it, however slow the machine.
      const limiter = harness.sim.context.rateLimiter;
      const window = 1_000 * Math.floor(Date.now() / 1_000);
      limiter.nowMs = () => window + 500;
      const answers = await Promise.all(Array.from({ length: 30 }, () => harness.get('/margin/guaranty_fund_balance')));
      const limited = answers.filter((a) => a.status === 429);
      expect(answers.filter((a) => a.status === 200)).toHaveLength(20);
      expect(limited).toHaveLength(10);
      expect(limited[0].headers.get('retry-after')).toBe('1');
      // The next window lets reads through again.
      limiter.nowMs = () => window + 1_500;
      expect((await harness.get('/margin/guaranty_fund_balance')).status).toBe(200);
    } finally {
      await harness.close();
    }
  });

  it('lets the same burst through when enforcement is off', async () => {
    const harness = await SimulatorWorld.start({ seed: 2, rateLimit: false, days: 2 });
    try {
      const answers = await Promise.all(Array.from({ length: 30 }, () => harness.get('/margin/guaranty_fund_balance')));
      expect(answers.every((a) => a.status === 200)).toBe(true);
    } finally {
      await harness.close();
    }
  });
});
