import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { truthFacts } from './truth-comparison';
import { IngestionWorld } from './ingestion-world';

// Klear down when the worker starts: the start-up run of margin_reports (the backfill window) fails at
// its listing. Later runs list INGEST_REPORTS_LOOKBACK_DAYS (2) stretched back only to reports already
// listed without their file, so before the fix the older reports stayed unlisted until the next start-up
// (found by test/ingestion/faulty-ingestion.test.ts under load: 2026-11-10..12-01 missing, 12-02 there).
describe('margin reports when the start-up listing fails', () => {
  let world: IngestionWorld;
  beforeAll(async () => {
    // No retries: one injected 500 fails the start-up run without opening the client's circuit breaker.
    world = await IngestionWorld.start({ seed: 11, days: 12, subtraders: 3, markets: 3 }, { KLEAR_MAX_RETRIES: '0' });
  });
  afterAll(() => world?.close());

  const storedReports = async () =>
    (
      (await world.db.dataSource.query(`SELECT count(*)::int AS n FROM klear_margin_report WHERE file_path IS NOT NULL`)) as Array<{
        n: number;
      }>
    )[0].n;

  it('the next scheduled run lists the whole backfill window, then runs go back to the lookback', async () => {
    const truth = truthFacts(await world.truth()).reports;
    expect(truth.length).toBeGreaterThan(10);
    await world.admin('PUT', '/faults', { seed: 1, rules: [{ kind: 'status', status: 500, endpoint: '/margin/reports', times: 1 }] });
    expect((await world.runner.runToEnd('margin_reports', { trigger: 'startup' }))?.status).toBe('failed');
    expect(await storedReports()).toBe(0);
    await world.admin('PUT', '/faults', { seed: 1, rules: [] });

    const next = await world.runner.runToEnd('margin_reports', { trigger: 'schedule' });
    expect(next?.status).toBe('succeeded');
    expect(next?.details).toMatchObject({ window: 'backfill' });
    // Every report of the simulator's history (12 days, inside the 30-day backfill window), not the last two days'.
    expect(await storedReports()).toBe(truth.length);

    const after = await world.runner.runToEnd('margin_reports', { trigger: 'schedule' });
    expect(after?.details).toMatchObject({ window: 'lookback', downloaded: 0 });
  });
});
