import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { ReconWorld, trade } from './recon-world';

/*
 * Runs against concurrent writers and concurrent runs, interleaved with barriers (a lock the test
 * holds, released once the other side is seen waiting on it), never with sleeps.
 */
const C1 = '2026-11-03T22:00:00Z';

/** Polls until `condition` holds, with a generous deadline (a busy machine is slow, not wrong). */
async function until(what: string, condition: () => Promise<boolean>, deadlineMs = 60_000): Promise<void> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > deadlineMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('reconciliation runs beside other writers', () => {
  let world: ReconWorld;
  let blocker: pg.Client;
  beforeAll(async () => {
    world = await ReconWorld.start();
    await world.twoSubtraders(C1, [999n, 2_000n]);
    blocker = new pg.Client({ connectionString: world.api.db.url });
    await blocker.connect();
  }, 300_000); // a database and an API app: the deadline only catches a hang (60 s was passed at load 25)
  afterAll(async () => {
    await blocker.end();
    await world.close();
  });

  const waiting = async (kind: 'relation' | 'advisory', count: number) => {
    const [row] = await world.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE NOT l.granted AND l.locktype = $1 AND a.datname = current_database()`,
      [kind],
    );
    return row.n >= count;
  };

  it('succeeds when audited writes commit while it runs', async () => {
    // Hold the run after its first statement: it waits to read the obligations.
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE klear_obligation IN ACCESS EXCLUSIVE MODE');
    const run = world.run(C1);
    await until('the run to wait on the obligations', () => waiting('relation', 1));
    // An audited write commits meanwhile: a ledger batch appends its audit row.
    await world.post([trade('t/S3', '2026-11-04T22:00:00Z', 'S3', [{ market: 'M1', pnl: 5n }])]);
    await blocker.query('COMMIT');
    const outcome = await run;
    expect(outcome).toMatchObject({ breakCount: 1, opened: 1 });
    expect((await world.queries.getRun(outcome.runId)).status).toBe('succeeded');
    const verification = await world.api.http().get('/audit?limit=1').set('authorization', world.as('admin'));
    expect(verification.body.chain).toMatchObject({ ok: true });
  });

  it('makes a second run of the same cycle wait for the first instead of failing, and see its breaks', async () => {
    const [{ key }] = await world.sql<{ key: string }>(`SELECT hashtextextended('reconciliation:' || $1, 0)::text AS key`, [
      `cycle/${C1}/Crypto`,
    ]);
    await blocker.query('SELECT pg_advisory_lock($1)', [key]);
    await world.post([trade('t/S4', C1, 'S4', [{ market: 'M1', pnl: 40n }])]);
    const runs = [world.run(C1), world.run(C1)];
    await until('both runs to wait for the scope lock', () => waiting('advisory', 2));
    await blocker.query('SELECT pg_advisory_unlock($1)', [key]);
    const outcomes = await Promise.all(runs);
    expect(outcomes.map((o) => o.breakCount)).toEqual([2, 2]);
    expect(outcomes.map((o) => o.opened).sort()).toEqual([0, 1]);
    for (const o of outcomes) expect((await world.queries.getRun(o.runId)).status).toBe('succeeded');
  });
});
