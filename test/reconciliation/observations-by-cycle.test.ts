import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditService } from '@app/audit';
import { ManualClock } from '@app/clock';
import { ensureCyclePartitions } from '@app/db';
import { ReconciliationRepository, ReconciliationRunRepository } from '@app/reconciliation';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { DataSource } from 'typeorm';
import { CYCLE_1, CYCLE_2, seedReconciledDay, type SeededDay } from '../exports/reconciled-day-factory';
import { type ExplainHook, hookExplain, type PlanNode } from '../support/explain-hook';

/**
 * Issue 18: a month of break observations is filed by UTC day (migration ObservationsByCycle), so a
 * run's page of breaks reads the index of its own cycle's day, which does not grow as the month fills;
 * and every read of observations names the cycle (the run's, or the break's: a break belongs to one
 * scope, so to one cycle), so none of them plans or probes the month's other days. Each statement the
 * repository sends is explained as it ran (EXPLAIN ANALYZE, same connection, same parameters): the
 * partitions of recon_break_observation in its plan are the ones counted.
 */
const clock = new ManualClock('2026-03-11T19:00:00Z');
const zero = { settlementDetails: 0n, maintenanceMargin: 0n, funding: 0n, klearConsistency: 0n, settlementBuffer: 0n, projected: 0n };
const settings = { tolerances: zero, bufferMatchWindowHours: 24 };

let db: TestDatabase;
let day: SeededDay;
let repository: ReconciliationRepository;
/** Each statement the repository sends that reads observations, explained as it ran (EXPLAIN ANALYZE). */
let hook: ExplainHook;

/**
 * The observation partitions in a plan. Only those pruned as the statement was planned are absent: one
 * pruned as it runs (a cycle taken from a join or a subquery) is planned first, and a year of days made
 * the planning of one page 81 ms; so a partition in the plan counts whether its scan ran or not.
 */
function observationPartitions(node: PlanNode): string[] {
  const own = node['Relation Name']?.startsWith('recon_break_observation') ? [node['Relation Name']] : [];
  return [...own, ...(node.Plans ?? []).flatMap(observationPartitions)];
}

async function partitionsRead(work: () => Promise<unknown>): Promise<string[][]> {
  const { statements } = await hook.record(work);
  return statements.map((s) => [...new Set(observationPartitions(s.plan))].sort());
}

beforeAll(async () => {
  db = await createTestDatabase();
  await ensureCyclePartitions(db.dataSource, ['2026-02-10T21:00:00Z', CYCLE_1]);
  day = await seedReconciledDay(db.dataSource);
  // The engine's own runs of both cycles: observations on two days of March.
  const runs = new ReconciliationRunRepository(db.dataSource, new AuditService(db.dataSource, null, clock), clock);
  for (const cycle of [CYCLE_1, CYCLE_2])
    await runs.run({ scope: 'cycle', cycle: new Date(cycle), actor: 'observations-test', settings }, () => new Error(`${cycle} missing`));
  repository = new ReconciliationRepository(db.dataSource);
  hook = hookExplain({
    analyze: true,
    explains: (sql) => /^\s*(SELECT|WITH)\b/i.test(sql) && sql.includes('recon_break_observation'),
  });
});

afterAll(async () => {
  hook?.restore();
  await db?.drop();
});

describe('break observations filed by cycle', () => {
  it('files a month made since the migration by UTC day, one partition a day, each cycle in its own day', async () => {
    const days = (await db.dataSource.query(
      `SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'recon_break_observation_p202603'::regclass ORDER BY 1`,
    )) as Array<{ relname: string; bound: string }>;
    expect(days).toHaveLength(31);
    expect(days[0]).toEqual({
      relname: 'recon_break_observation_p20260301',
      bound: "FOR VALUES FROM ('2026-03-01 00:00:00+00') TO ('2026-03-02 00:00:00+00')",
    });
    expect(days[30].relname).toBe('recon_break_observation_p20260331');
    // Each observation in the partition of its cycle's UTC day (the engine's runs of the day found breaks of cycle 1).
    const filed = (await db.dataSource.query(
      `SELECT tableoid::regclass::text AS partition, 'recon_break_observation_p' || to_char(cycle_key AT TIME ZONE 'UTC', 'YYYYMMDD') AS day,
              count(*)::int AS n
         FROM recon_break_observation WHERE cycle_key >= '2026-03-01' GROUP BY 1, 2 ORDER BY 1, 2`,
    )) as Array<{ partition: string; day: string; n: number }>;
    expect(filed.length).toBeGreaterThan(0);
    expect(filed.filter((f) => f.partition !== f.day)).toEqual([]);
    expect(filed.map((f) => f.day)).toContain('recon_break_observation_p20260310');
  });

  it("reads a run's page of breaks, whole or one subtrader's, from its cycle's day only", async () => {
    const reads = await partitionsRead(async () => {
      await repository.runBreaks(day.runIds.cycle1, { limit: 51 });
      await repository.runBreaks(day.runIds.cycle1, { subtrader: 'ST-B', limit: 51 });
    });
    expect(reads).toEqual([['recon_break_observation_p20260310'], ['recon_break_observation_p20260310']]);
  });

  it("reads a break's observations and its sources (the breaks list's) from the break's cycle's day only", async () => {
    const [brk] = (await db.dataSource.query(
      `SELECT id::text, "check", reason_code, coalesce(cycle, '-infinity')::text AS cycle_key FROM recon_break WHERE id = $1`,
      [day.breakIds.new],
    )) as Array<{ id: string; check: string; reason_code: string; cycle_key: string }>;
    const reads = await partitionsRead(async () => {
      const detail = await repository.getBreak(brk.id);
      expect(detail.observations.length).toBeGreaterThan(0);
      await repository.sourcesOf([brk]);
    });
    // The detail's observations and its sources, then the sources alone.
    expect(reads).toEqual([
      ['recon_break_observation_p20260310'],
      ['recon_break_observation_p20260310'],
      ['recon_break_observation_p20260310'],
    ]);
  });

  it("refuses an observation filed under another cycle than its break's, and a change of a break's cycle", async () => {
    // The reads above find a break's observations under its cycle: one filed elsewhere would be missing
    // from its detail and sources, without an error.
    const before = (await db.dataSource.query(`SELECT count(*)::int AS n FROM recon_break_observation`)) as Array<{ n: number }>;
    await expect(
      db.dataSource.query(
        `INSERT INTO recon_break_observation (run_id, ordinal, break_id, break_key, "check", subtrader_id, reason_code, difference_centicents, klear_rows, internal_rows, cycle_key)
         SELECT $1, 900, b.id, b.break_key, b."check", b.subtrader_id, b.reason_code, b.difference_centicents, '[]', '[]', $3::timestamptz
           FROM recon_break b WHERE b.id = $2`,
        [day.runIds.cycle2, day.breakIds.new, CYCLE_2],
      ),
    ).rejects.toThrow(/an observation filed under another cycle than its break's/);
    await expect(
      db.dataSource.query(`UPDATE recon_break_observation SET cycle_key = $2::timestamptz WHERE break_id = $1`, [
        day.breakIds.new,
        CYCLE_2,
      ]),
    ).rejects.toThrow(/an observation filed under another cycle than its break's/);
    await expect(
      db.dataSource.query(`UPDATE recon_break SET cycle = $2::timestamptz WHERE id = $1`, [day.breakIds.new, CYCLE_2]),
    ).rejects.toThrow(/its cycle is part of its scope and never changes/);
    expect(await db.dataSource.query(`SELECT count(*)::int AS n FROM recon_break_observation`)).toEqual(before);
    const [{ cycle }] = (await db.dataSource.query(`SELECT cycle FROM recon_break WHERE id = $1`, [day.breakIds.new])) as Array<{
      cycle: Date;
    }>;
    expect(cycle.toISOString()).toBe(CYCLE_1);
  });

  it("compares two runs of a cycle reading that cycle's day only", async () => {
    const [{ id: latest }] = (await db.dataSource.query(`SELECT max(id)::text AS id FROM recon_run WHERE cycle = $1`, [CYCLE_1])) as Array<{
      id: string;
    }>;
    const reads = await partitionsRead(() => repository.compare(latest, day.runIds.cycle1));
    expect(reads).toEqual([['recon_break_observation_p20260310']]);
  });

  it("answers the same where the server writes times in another date style and time zone (the cycle's text reads back as the same instant)", async () => {
    // In the SQL date style a timestamptz's ::text names its zone by abbreviation: Asia/Kolkata's 'IST'
    // reads back as Israel's (+02) on PostgreSQL up to 17 (DATABASE_URL=... a 15 server: this failed with
    // ::text), another instant and no rows; 18 reads an abbreviation in the session's own zone first.
    const [brk] = (await db.dataSource.query(`SELECT id::text FROM recon_break WHERE id = $1`, [day.breakIds.new])) as Array<{
      id: string;
    }>;
    const expected = {
      page: await repository.runBreaks(day.runIds.cycle1, { limit: 51 }),
      detail: (await repository.getBreak(brk.id)).observations,
    };
    expect(expected.page.length).toBeGreaterThan(0);
    await db.dataSource.query(
      `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET DateStyle TO %L', current_database(), 'SQL, DMY');
                   EXECUTE format('ALTER DATABASE %I SET TimeZone TO %L', current_database(), 'Asia/Kolkata'); END $$`,
    );
    const elsewhere = new DataSource({ ...db.dataSource.options } as typeof db.dataSource.options);
    await elsewhere.initialize();
    try {
      expect(((await elsewhere.query(`SHOW DateStyle`)) as Array<{ DateStyle: string }>)[0].DateStyle).toBe('SQL, DMY');
      const there = new ReconciliationRepository(elsewhere);
      expect(await there.runBreaks(day.runIds.cycle1, { limit: 51 })).toEqual(expected.page);
      expect((await there.getBreak(brk.id)).observations).toEqual(expected.detail);
    } finally {
      await elsewhere.destroy();
    }
  });
});
