import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ReconciliationRepository } from '@app/reconciliation';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { CYCLE_1, seedReconciledDay, type SeededDay } from '../exports/reconciled-day-factory';
import { type ExplainHook, hookExplain, type PlanNode } from '../support/explain-hook';

/**
 * Issue 18: a run's break page (`GET /reconciliations/{id}/breaks`) reads the run's observations and
 * looks each one's break up by its key; it never reads the break table whole. recon_break holds every
 * break ever found (54 a cycle in the growth world) and a join of the two was, at day 10 of that world, a
 * hash join over all 810 breaks for one subtrader's page of one row (6 -> 25 buffers; here, before the fix, a
 * merge join along the whole primary key). Here the breaks of a reconciled day sit among 810 breaks of
 * other scopes, 54 of them observed again by one run, analysed; the statement the repository sends is
 * explained (EXPLAIN ANALYZE, same connection, same parameters) and its answers compared with the plain
 * join's.
 */
const HISTORY_BREAKS = 810;

let db: TestDatabase;
let day: SeededDay;
let breaks: ReconciliationRepository;
/** Each statement that reads recon_break, explained as it ran (EXPLAIN ANALYZE) on its own connection. */
let hook: ExplainHook;

/** Every executed scan of recon_break in a plan: its node type, index and rows a loop (EXPLAIN's Actual Rows is per loop). */
function breakScans(node: PlanNode): Array<{ kind: string; index?: string; rowsPerLoop: number }> {
  const own =
    node['Relation Name'] === 'recon_break' && (node['Actual Loops'] ?? 0) > 0
      ? [{ kind: node['Node Type'], index: node['Index Name'], rowsPerLoop: node['Actual Rows'] ?? 0 }]
      : [];
  return [...own, ...(node.Plans ?? []).flatMap(breakScans)];
}

/** The scans of recon_break that are not a probe of one break by its primary key (a hash or merge join's read of the table). */
const notProbes = (plan: PlanNode) =>
  breakScans(plan).filter((s) => s.kind !== 'Index Scan' || !/^PK_/.test(s.index ?? '') || s.rowsPerLoop > 1);

async function sent(work: () => Promise<unknown>): Promise<{ result: unknown; plans: PlanNode[] }> {
  const { result, statements } = await hook.record(work);
  return { result, plans: statements.map((s) => s.plan) };
}

/** The run's observations joined to their breaks, plainly: what the page must answer. */
async function joined(runId: string, where = 'true'): Promise<Array<{ ordinal: number; break_id: string; status: string }>> {
  return db.dataSource.query(
    `SELECT o.ordinal, o.break_id::text, b.status FROM recon_break_observation o JOIN recon_break b ON b.id = o.break_id
      WHERE o.run_id = $1 AND ${where} ORDER BY o.ordinal`,
    [runId],
  );
}

beforeAll(async () => {
  db = await createTestDatabase();
  day = await seedReconciledDay(db.dataSource);
  // History: breaks of other scopes, none observed by the day's runs but the first 54, of the first run's
  // cycle (an observation is filed under its break's cycle: the database refuses another).
  await db.dataSource.query(
    `INSERT INTO recon_break (scope_key, break_key, "check", cycle, subtrader_id, reason_code, difference_centicents, status, first_seen_run, last_seen_run)
     SELECT 'history:' || (i / 54), 'settlement_details|ST-' || i, 'settlement_details',
            CASE WHEN i <= 54 THEN $3::timestamptz ELSE timestamptz '2025-01-01' + (i / 54) * interval '1 day' END,
            'ST-' || i, 'UNEXPLAINED', i, CASE WHEN i % 3 = 0 THEN 'open' ELSE 'resolved' END, $1::bigint, $1::bigint
       FROM generate_series(1, $2::int) AS i`,
    [day.runIds.previous, HISTORY_BREAKS, CYCLE_1],
  );
  // 54 of them (every third is open) observed again by the day's first run, after its own observation (a
  // growth-world run: 54 breaks, at day 10 among 810).
  await db.dataSource.query(
    `INSERT INTO recon_break_observation (run_id, ordinal, break_id, break_key, "check", subtrader_id, reason_code, difference_centicents, klear_rows, internal_rows, cycle_key)
     SELECT r.id, 100 + b.n, b.id, b.break_key, b."check", b.subtrader_id, b.reason_code, b.difference_centicents, '[]', '[]', coalesce(r.cycle, '-infinity')
       FROM recon_run r,
            (SELECT id, break_key, "check", subtrader_id, reason_code, difference_centicents, row_number() OVER (ORDER BY id)::int AS n
               FROM recon_break WHERE scope_key LIKE 'history:%' ORDER BY id LIMIT 54) b
      WHERE r.id = $1::bigint`,
    [day.runIds.cycle1],
  );
  await db.dataSource.query('ANALYZE recon_break');
  await db.dataSource.query('ANALYZE recon_break_observation');
  breaks = new ReconciliationRepository(db.dataSource);
  hook = hookExplain({ analyze: true, explains: (sql) => sql.includes('recon_break b') });
});

afterAll(async () => {
  hook?.restore();
  await db?.drop();
});

describe("a run's break page among a large history of breaks", () => {
  it('the break table holds the history (the world this test needs)', async () => {
    const [{ n }] = (await db.dataSource.query(`SELECT count(*)::int AS n FROM recon_break`)) as Array<{ n: number }>;
    expect(n).toBeGreaterThan(HISTORY_BREAKS);
  });

  it("one subtrader's page reads recon_break only by its primary key, and answers what the plain join answers", async () => {
    const runId = day.runIds.cycle1;
    const expected = await joined(runId, `o.subtrader_id = 'ST-B'`);
    expect(expected.length).toBeGreaterThan(0);
    const { result, plans: explained } = await sent(() => breaks.runBreaks(runId, { subtrader: 'ST-B', limit: 51 }));
    expect(explained).toHaveLength(1);
    const scans = breakScans(explained[0]);
    expect(scans.length).toBeGreaterThan(0);
    expect(notProbes(explained[0])).toEqual([]);
    const rows = result as Array<{ ordinal: number; break_id: string; status: string; subtrader_id: string }>;
    expect(rows.map((r) => ({ ordinal: r.ordinal, break_id: r.break_id, status: r.status }))).toEqual(expected);
    expect(new Set(rows.map((r) => r.subtrader_id))).toEqual(new Set(['ST-B']));
  });

  it('the whole page and a status-filtered page do the same, in ordinal order, and page on by ordinal', async () => {
    const runId = day.runIds.cycle1;
    const all = await joined(runId);
    expect(all.length).toBe(55);
    expect(all.filter((r) => r.status === 'open').length).toBeGreaterThan(0);
    expect(all.filter((r) => r.status !== 'open').length).toBeGreaterThan(0);
    const whole = await sent(() => breaks.runBreaks(runId, { limit: 500 }));
    expect(notProbes(whole.plans[0])).toEqual([]);
    expect((whole.result as typeof all).map((r) => ({ ordinal: r.ordinal, break_id: r.break_id, status: r.status }))).toEqual(all);

    const open = await joined(runId, `b.status = 'open'`);
    const filtered = await sent(() => breaks.runBreaks(runId, { status: 'open', limit: 500 }));
    expect(notProbes(filtered.plans[0])).toEqual([]);
    expect((filtered.result as typeof all).map((r) => r.ordinal)).toEqual(open.map((r) => r.ordinal));

    const first = await breaks.runBreaks(runId, { limit: 1 });
    const rest = await breaks.runBreaks(runId, { limit: 500, afterOrdinal: first[0].ordinal });
    expect([...first, ...rest].map((r) => r.ordinal)).toEqual(all.map((r) => r.ordinal));
  });

  it('still probes by key when the statistics make a hash join over every break look cheapest (nested loops priced out)', async () => {
    // What the growth world's statistics did at day 10; a join the planner may hash cannot promise this.
    const runId = day.runIds.cycle1;
    // With nested loops priced out, a hash join over every break looks cheapest.
    hook.setPlanner({ enable_nestloop: 'off' });
    try {
      for (const filter of [{ subtrader: 'ST-B', limit: 51 }, { limit: 51 }, { status: 'open', limit: 51 }]) {
        const { result, plans: explained } = await sent(() => breaks.runBreaks(runId, filter));
        expect(explained).toHaveLength(1);
        expect(notProbes(explained[0])).toEqual([]);
        expect((result as unknown[]).length).toBeGreaterThan(0);
      }
    } finally {
      hook.setPlanner(undefined);
    }
  });

  it('an unknown run is still a NotFound, a known run without breaks for the filter an empty page', async () => {
    await expect(breaks.runBreaks('987654321', { limit: 10 })).rejects.toThrow(/reconciliation run/);
    expect(await breaks.runBreaks(day.runIds.cycle1, { subtrader: 'ST-NOBODY', limit: 10 })).toEqual([]);
  });
});
