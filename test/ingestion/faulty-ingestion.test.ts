import { afterEach, describe, expect, it } from '@jest/globals';
import { IngestionWorld } from './ingestion-harness';
import { databaseFacts, truthFacts } from './truth-comparison';

const PAGED = ['/margin/obligation_history', '/margin/settlement_balance_history'];

/** The fault mix of issue 4: 5xx, 429 bursts, timeouts, resets, duplicated and re-ordered items, a mid-walk update. */
const FAULT_RULES = [
  { kind: 'status', status: 503, rate: 0.12 },
  { kind: 'status', status: 500, rate: 0.04 },
  { kind: 'status', status: 502, rate: 0.04 },
  { kind: 'rate_limit_burst', rate: 0.1, retry_after_seconds: 1 },
  { kind: 'timeout', rate: 0.05 },
  { kind: 'connection_reset', rate: 0.05 },
  ...PAGED.flatMap((endpoint) => [
    { kind: 'duplicate_items', endpoint, rate: 0.5 },
    { kind: 'reorder_items', endpoint, rate: 0.5 },
  ]),
  // A terminal fault on the same request pre-empts the change: allow a few.
  { kind: 'obligation_changed', times: 3 },
];

describe('Ingestion under faults', () => {
  let world: IngestionWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it.each([101, 202, 303])('ends equal to the simulator truth with fault seed %i', async (seed) => {
    // 25 cycles at 20 per page: the obligation walk has a second page, where the mid-walk update hits.
    world = await IngestionWorld.start({ seed: seed % 50, days: 25, subtraders: 3, markets: 3 }, { KLEAR_TIMEOUT_MS: '600' });
    await world.admin('PUT', '/faults', { seed, rules: FAULT_RULES });
    await world.runAll('startup');
    // Like the scheduler would: more passes until one succeeds everywhere, finds nothing new, and
    // saw no obligation change behind its walk (a change made after its page was read waits for the next walk).
    const changesSoFar = async () => ((await world!.admin('GET', '/faults')) as { fired: Array<{ kind: string }> }).fired.filter((f) => f.kind === 'obligation_changed').length;
    for (let pass = 0; pass < 6; pass++) {
      const changesBefore = await changesSoFar();
      const statuses = await world.runAll('manual');
      const [{ n }] = (await world.db.dataSource.query(
        `SELECT items_written AS n FROM job_run WHERE id = (SELECT max(id) FROM job_run WHERE job = 'obligation_history')`,
      )) as Array<{ n: number }>;
      if (Object.values(statuses).every((s) => s === 'succeeded') && n === 0 && (await changesSoFar()) === changesBefore) break;
    }
    const fired = (await world.admin('GET', '/faults')) as { fired: Array<{ kind: string }> };
    const kinds = new Set(fired.fired.map((f) => f.kind));
    for (const kind of ['status', 'rate_limit_burst', 'duplicate_items', 'reorder_items', 'obligation_changed']) expect(kinds).toContain(kind);
    await world.admin('DELETE', '/faults');
    const rawTruth = await world.truth();
    const facts = await databaseFacts(world.db.dataSource);
    const truth = truthFacts(rawTruth);
    if (JSON.stringify(facts) !== JSON.stringify(truth)) {
      // Say which runs failed and why, so that a failure under load can be read.
      console.log(JSON.stringify(await world.db.dataSource.query(`SELECT id, job, trigger, status, items_written, error FROM job_run ORDER BY id`)));
    }
    expect(facts).toEqual(truth);
    // Each obligation changed mid-walk was first read before the change: it kept that earlier version.
    const changedCycles = [...new Set(rawTruth.injected_obligation_changes.map((c) => new Date(c.execution_time).toISOString()))];
    expect(changedCycles.length).toBeGreaterThanOrEqual(1);
    const versions = (await world.db.dataSource.query(
      `SELECT count(*)::int AS n FROM klear_obligation_version v JOIN klear_obligation o ON o.id = v.obligation_id WHERE o.execution_time = ANY($1::timestamptz[]) GROUP BY o.id`,
      [changedCycles],
    )) as Array<{ n: number }>;
    expect(versions).toHaveLength(changedCycles.length);
    for (const v of versions) expect(v.n).toBeGreaterThanOrEqual(2);
  });
});
