import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { JobScheduler } from '@app/jobs';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { type RunningKlearSimulator, startKlearSimulator } from '@apps/klear-sim';
import { createWorkerApplication } from '@apps/worker';
import { FAST_CLIENT, INGESTION_JOB_NAMES, smallWorld, workerConfig } from '../ingestion/ingestion-world';
import { until } from '../support/poll';

describe('Two workers on one database', () => {
  let sim: RunningKlearSimulator;
  let db: TestDatabase;
  let reportsDir: string;
  let workers: INestApplicationContext[] = [];
  beforeAll(async () => {
    sim = await startKlearSimulator(smallWorld({ seed: 3 }));
    db = await createTestDatabase();
    reportsDir = mkdtempSync(join(tmpdir(), 'klear-two-workers-'));
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await sim?.close();
    await db?.drop();
    rmSync(reportsDir, { recursive: true, force: true });
  });

  it('run each scheduled tick once: one worker runs it, the other records a skip', async () => {
    // settlement_balance every second; every other job off (their start-up catch-up too).
    const env: Record<string, string> = { WORKER_JOBS_ENABLED: 'true', JOB_SETTLEMENT_BALANCE_CRON: '* * * * * *' };
    for (const name of INGESTION_JOB_NAMES) if (name !== 'settlement_balance') env[`JOB_${name.toUpperCase()}_ENABLED`] = 'false';
    const config = (instance: string) => workerConfig(sim, db.url, reportsDir, { ...env, WORKER_INSTANCE_ID: instance });
    workers = await Promise.all(
      ['worker-a', 'worker-b'].map((id) => createWorkerApplication(config(id), { silent: true, klearClient: FAST_CLIENT })),
    );
    await Promise.all(workers.map((w) => w.get(JobScheduler).catchUp));
    // No fixed wait: poll until three ticks finished and both workers reached one of them, however
    // slow the machine is (a generous deadline, not a speed target).
    const tickRows = async () =>
      (await db.dataSource.query(
        `SELECT scheduled_for, count(*) FILTER (WHERE status IN ('succeeded', 'failed'))::int AS ran, count(*) FILTER (WHERE status = 'skipped')::int AS skipped,
                count(*) FILTER (WHERE status = 'running')::int AS running, count(DISTINCT worker_instance)::int AS instances
           FROM job_run WHERE job = 'settlement_balance' AND trigger = 'schedule' GROUP BY scheduled_for ORDER BY scheduled_for`,
      )) as Array<{ scheduled_for: Date; ran: number; skipped: number; running: number; instances: number }>;
    await until(
      'three finished ticks, one reached by both workers',
      tickRows,
      (rows) => rows.filter((t) => t.ran > 0).length >= 3 && rows.some((t) => t.instances === 2 && t.ran === 1),
      120_000,
      200,
    );
    await Promise.all(workers.map((w) => w.close()));
    workers = [];
    // Closing waits for runs in flight: every recorded tick is finished now.
    const ticks = await tickRows();
    expect(ticks.every((t) => t.running === 0)).toBe(true);
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    // A tick is executed (succeeded or failed) at most once, whichever worker got it. On a busy machine
    // a run can outlast the next tick: that tick is then skipped by the worker that finds the job's lock
    // held (and passed over by the one still running), never run twice.
    for (const tick of ticks)
      expect({ tick: tick.scheduled_for, atMostOnce: tick.ran <= 1, recorded: tick.ran + tick.skipped >= 1 }).toEqual({
        tick: tick.scheduled_for,
        atMostOnce: true,
        recorded: true,
      });
    // Ticks both workers reached: one row each, at most one of them a run; at least one was run by one and skipped by the other.
    const contested = ticks.filter((t) => t.instances === 2);
    for (const tick of contested)
      expect({ rows: tick.ran + tick.skipped, ranAtMostOnce: tick.ran <= 1 }).toEqual({ rows: 2, ranAtMostOnce: true });
    expect(contested.filter((t) => t.ran === 1 && t.skipped === 1).length).toBeGreaterThanOrEqual(1);
    expect(ticks.filter((t) => t.ran === 1).length).toBeGreaterThanOrEqual(3);
    const [{ snapshots }] = (await db.dataSource.query(
      `SELECT count(*)::int AS snapshots FROM klear_balance_snapshot s JOIN klear_response_archive a ON a.id = s.archive_id JOIN job_run r ON r.id = a.job_run_id WHERE r.trigger = 'schedule'`,
    )) as Array<{ snapshots: number }>;
    const [{ succeeded }] = (await db.dataSource.query(
      `SELECT count(*)::int AS succeeded FROM job_run WHERE job = 'settlement_balance' AND trigger = 'schedule' AND status = 'succeeded'`,
    )) as Array<{ succeeded: number }>;
    expect(snapshots).toBe(succeeded);
    const instances = (await db.dataSource.query(`SELECT DISTINCT worker_instance FROM job_run ORDER BY 1`)) as Array<{
      worker_instance: string;
    }>;
    expect(instances.map((i) => i.worker_instance)).toEqual(['worker-a', 'worker-b']);
  }, 180_000);
});
