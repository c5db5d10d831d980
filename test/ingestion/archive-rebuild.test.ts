import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ArchiveRebuild } from '@app/ingestion';
import { IngestionWorld } from './ingestion-world';
import { databaseFacts, truthFacts } from './truth-comparison';

const DERIVED_COUNTS = `SELECT
  (SELECT count(*) FROM klear_obligation_version)::int AS versions,
  (SELECT count(*) FROM klear_estimate_snapshot)::int AS estimates,
  (SELECT count(*) FROM klear_estimate_line)::int AS estimate_lines,
  (SELECT count(*) FROM klear_balance_snapshot)::int AS balances,
  (SELECT count(*) FROM klear_large_trader_position)::int AS positions,
  (SELECT count(*) FROM klear_active_obligation_pull)::int AS active_pulls`;

describe('The Klear response archive', () => {
  let world: IngestionWorld;
  beforeAll(async () => {
    world = await IngestionWorld.start({ seed: 23, days: 25, subtraders: 3, markets: 3 });
    await world.runAll('startup');
    // An obligation changes between two pulls (25 cycles: two pages): both versions must come back from the archive.
    await world.admin('PUT', '/faults', { rules: [{ kind: 'obligation_changed', times: 1 }] });
    await world.runAll('manual');
    await world.admin('DELETE', '/faults');
    await world.runAll('manual');
  });
  afterAll(() => world?.close());

  it('holds every answer as it came, with its SHA-256, and never a presigned URL query in its parameters', async () => {
    const rows = (await world.db.dataSource.query(
      `SELECT endpoint, params, sha256, encode(sha256(body), 'hex') AS actual, job_run_id FROM klear_response_archive`,
    )) as Array<{ endpoint: string; params: Record<string, string>; sha256: string; actual: string; job_run_id: string | null }>;
    expect(new Set(rows.map((r) => r.endpoint))).toEqual(
      new Set([
        'GET /margin/active_obligations',
        'GET /margin/obligation_history',
        'GET /margin/settlement_estimate_by_asset_class',
        'GET /fcm/margin/subtrader_groups',
        'GET /margin/settlement_prices',
        'GET /margin/settlement_balance',
        'GET /margin/settlement_balance_history',
        'GET /margin/reports',
        'GET /margin/guaranty_fund_balance',
        'GET /margin/large_trader_positions',
      ]),
    );
    for (const r of rows) {
      expect(r.actual).toBe(r.sha256);
      expect(r.job_run_id).not.toBeNull();
      expect(JSON.stringify(r.params)).not.toMatch(/signature|expires|token/i);
    }
  });

  it('refuses UPDATE, DELETE and TRUNCATE', async () => {
    const ds = world.db.dataSource;
    await expect(ds.query(`UPDATE klear_response_archive SET http_status = 500`)).rejects.toThrow(/append-only/);
    await expect(ds.query(`DELETE FROM klear_response_archive`)).rejects.toThrow(/append-only/);
    await expect(ds.query(`TRUNCATE klear_response_archive`)).rejects.toThrow(/append-only/);
  });

  it('rebuilds the derived tables from the archived bodies alone, to the same content', async () => {
    const ds = world.db.dataSource;
    const before = await databaseFacts(ds);
    expect(before).toEqual(truthFacts(await world.truth()));
    const countsBefore = (await ds.query(DERIVED_COUNTS))[0];
    expect(countsBefore.versions).toBe(26);
    // What GET /subtraders shows: the latest cycle's figures of each subtrader, refreshed by ingestion.
    const latestFigures = () => ds.query(`SELECT * FROM klear_subtrader_latest_figures ORDER BY subtrader_id`);
    const figuresBefore = await latestFigures();
    expect(figuresBefore).toHaveLength(3);
    // Damage the derived side; only the archive is trusted.
    await ds.query(`DELETE FROM klear_settlement_detail WHERE id IN (SELECT id FROM klear_settlement_detail LIMIT 7)`);
    await ds.query(`UPDATE klear_obligation SET amount_centicents = 0`);
    const result = await world.worker.get(ArchiveRebuild).rebuildFromArchive();
    expect(result.skipped).toBe(0);
    expect(result.answers).toBe(Number((await ds.query(`SELECT count(*) AS n FROM klear_response_archive`))[0].n));
    expect(await databaseFacts(ds)).toEqual(before);
    expect((await ds.query(DERIVED_COUNTS))[0]).toEqual(countsBefore);
    expect(await latestFigures()).toEqual(figuresBefore);
  });
});
