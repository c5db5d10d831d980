// Issue 12: Klear may show the open cycle's obligation as active before the cycle executes (the demo's
// simulator does: docs/klear-api.md). The product holds it, shows it as active, and reconciles it only
// once it has executed: before that nothing about it is final.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { ManualClock } from '@app/clock';
import { JobRunner } from '@app/jobs';
import { ReconciliationService } from '@app/reconciliation';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { type RunningKlearSimulator, startKlearSimulator } from '@apps/klear-sim';
import { createWorkerApplication } from '@apps/worker';
import { FAST_CLIENT, smallWorld, workerConfig } from '../ingestion/ingestion-world';
import { simAdmin } from '../klear-client/klear-client-world';

// 16:00 in New York: the day's 17:00 ET cycle (22:00Z) is still open.
const START = '2026-11-20T21:00:00Z';
const OPEN_CYCLE = '2026-11-20T22:00:00.000Z';

describe('an active obligation of a cycle that has not executed yet', () => {
  let sim: RunningKlearSimulator;
  let db: TestDatabase;
  let worker: INestApplicationContext;
  let reportsDir: string;
  const clock = new ManualClock(START);

  beforeAll(async () => {
    sim = await startKlearSimulator(smallWorld({ startAt: START, days: 3, activeObligations: 'open_cycle' }));
    db = await createTestDatabase();
    reportsDir = mkdtempSync(join(tmpdir(), 'klear-reports-'));
    worker = await createWorkerApplication(workerConfig(sim, db.url, reportsDir), { silent: true, klearClient: FAST_CLIENT, clock });
  });
  afterAll(async () => {
    await worker?.close();
    await sim?.close();
    await db?.drop();
    rmSync(reportsDir, { recursive: true, force: true });
  });

  const run = async (name: string) => (await worker.get(JobRunner).runToEnd(name, { trigger: 'manual' }))?.status;
  const cyclesRun = async () =>
    (
      (await db.dataSource.query(
        `SELECT DISTINCT cycle FROM recon_run WHERE scope = 'cycle' AND status = 'succeeded' ORDER BY cycle`,
      )) as Array<{ cycle: Date }>
    ).map((r) => r.cycle.toISOString());

  it('is held as active, is not reconciled by the job, and a run request for it is refused until it executes', async () => {
    expect(await run('obligation_history')).toBe('succeeded');
    expect(await run('active_obligation')).toBe('succeeded');
    const active = (await db.dataSource.query(
      `SELECT o.id, o.execution_time FROM klear_obligation o JOIN klear_active_obligation_pull p ON p.obligation_id = o.id ORDER BY p.pulled_at DESC LIMIT 1`,
    )) as Array<{ id: string; execution_time: Date }>;
    expect(active.map((a) => a.execution_time.toISOString())).toEqual([OPEN_CYCLE]);

    expect(await run('reconcile_cycles')).toBe('succeeded');
    const settled = await cyclesRun();
    expect(settled).toEqual(['2026-11-17T22:00:00.000Z', '2026-11-18T22:00:00.000Z', '2026-11-19T22:00:00.000Z']);

    const refused = await worker
      .get(ReconciliationService)
      .start({ cycle: new Date(OPEN_CYCLE) }, 'test')
      .then(
        () => undefined,
        (error: { code?: string }) => error.code,
      );
    expect(refused).toBe('CYCLE_NOT_EXECUTED');

    // The cycle executes (both clocks move past 17:00 ET): the same obligation is now final and reconciled.
    await simAdmin(sim, 'POST', '/clock/advance', { seconds: 5400 });
    clock.advance(5_400_000);
    expect(await run('obligation_history')).toBe('succeeded');
    expect(await run('reconcile_cycles')).toBe('succeeded');
    expect(await cyclesRun()).toEqual([...settled, OPEN_CYCLE]);
  });
});
