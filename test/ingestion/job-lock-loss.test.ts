import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { JobRunner } from '@app/jobs';
import { ContractWorld, obligationsAt } from './contract-klear-world';

const HOUR = 3_600_000;

/**
 * The job lock is a session advisory lock on a connection of its own. When that connection dies
 * mid-run, PostgreSQL releases the lock and another run may start: the first must stop writing.
 */
describe('Job lock loss', () => {
  jest.setTimeout(120_000);
  let world: ContractWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('a run whose lock connection is terminated writes nothing more and ends failed; a second run proceeds alone, with no duplicate rows', async () => {
    world = await ContractWorld.start();
    // One asset class, 60 hourly obligations: three pages of 20.
    world.klear.obligations = obligationsAt(Date.now() - HOUR, 60, ['Crypto']);

    // Hold the first run on its second page request, until the test lets it go.
    let arrived!: () => void;
    const atSecondPage = new Promise<void>((resolve) => (arrived = resolve));
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    world.klear.beforeAnswer = (_request, n) => (n === 2 ? (arrived(), gate) : undefined);

    const runner = world.worker.get(JobRunner);
    const first = await runner.start('obligation_history', { trigger: 'startup' });
    expect(first.run?.status).toBe('running');
    await atSecondPage;
    const archivedByFirst = async () =>
      (await world!.query<{ n: number }>(`SELECT count(*)::int AS n FROM klear_response_archive WHERE job_run_id = $1`, [first.run!.id]))[0]
        .n;
    const writtenBefore = await archivedByFirst();
    expect(writtenBefore).toBe(1);
    expect((await world.query<{ n: number }>(`SELECT count(*)::int AS n FROM klear_obligation`))[0].n).toBe(20);

    // The lock's connection dies (waits until the backend is gone, so the lock is free).
    const killed = await world.query<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid, 10000) AS ok FROM pg_stat_activity WHERE application_name = 'klear-job-lock:obligation_history' AND datname = current_database()`,
    );
    expect(killed).toEqual([{ ok: true }]);

    const second = await runner.runToEnd('obligation_history', { trigger: 'startup' });
    expect({ status: second?.status, error: second?.error }).toEqual({ status: 'succeeded', error: null });

    letGo();
    const firstEnd = await first.finished;
    expect(firstEnd?.status).not.toBe('succeeded');
    expect(firstEnd?.error).toMatch(/job lock's connection/);
    // Nothing written by the first run once its lock was gone.
    expect(await archivedByFirst()).toBe(writtenBefore);

    const [counts] = await world.query<{ obligations: number; ids: number; versions: number }>(
      `SELECT (SELECT count(*)::int FROM klear_obligation) AS obligations, (SELECT count(DISTINCT id)::int FROM klear_obligation) AS ids,
              (SELECT count(*)::int FROM klear_obligation_version) AS versions`,
    );
    expect(counts).toEqual({ obligations: 60, ids: 60, versions: 60 });
    const runs = await world.query<{ status: string }>(`SELECT status FROM job_run WHERE job = 'obligation_history' ORDER BY id`);
    expect(runs.map((r) => r.status)).toEqual([firstEnd!.status, 'succeeded']);
  });
});
