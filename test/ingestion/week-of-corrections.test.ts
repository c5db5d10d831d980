import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Clock } from '@app/clock';
import { loadConfig } from '@app/config';
import { JobRunner } from '@app/jobs';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { ADMIN_TOKEN_HEADER, type RunningKlearSimulator, startKlearSimulator } from '@apps/klear-sim';
import { createWorkerApplication } from '@apps/worker';
import { FAST_CLIENT, smallWorld, type Truth } from './ingestion-world';
import { databaseFacts, truthFacts } from './truth-comparison';
import { parseKlearJson } from '@app/klear-contract';

/** The product's clock is the simulator's: a simulated week passes in both at once. */
class SimulatedTime extends Clock {
  constructor(private readonly sim: RunningKlearSimulator) {
    super();
  }

  now(): Date {
    return new Date(this.sim.context.state.now());
  }
}

const HOUR_SECONDS = 3_600;
const WALKED = ['obligations', 'settlement_details', 'margin_details', 'receives', 'balance_history'] as const;

/**
 * Issue 21's acceptance: a week of simulated time, three cycles a day and three asset classes (ties at
 * every page boundary, the simulator paging 20 obligations strictly before the cursor), corrections
 * to obligations five days back (page 3 and deeper) with their balance entries back-dated 18 h, and
 * only scheduled incremental runs: the database equals Klear's truth at the end.
 */
describe('A week of corrections, ties and back-dated entries, scheduled incremental runs only', () => {
  jest.setTimeout(600_000);
  let sim: RunningKlearSimulator;
  let db: TestDatabase;
  let worker: INestApplicationContext;
  let reportsDir: string;

  beforeAll(async () => {
    sim = await startKlearSimulator(
      smallWorld({
        seed: 21,
        days: 30,
        assetClasses: 'Crypto,Equity,Rates',
        settlementTimeEt: '04:00,12:00,20:00',
        obligationPaging: 'strict',
        startAt: '2026-10-05T18:00:00Z',
      }),
    );
    db = await createTestDatabase();
    reportsDir = mkdtempSync(join(tmpdir(), 'klear-week-'));
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATABASE_URL: db.url,
      KLEAR_BASE_URL: sim.url,
      KLEAR_ADMIN_USER_ID: sim.options.adminUserId,
      KLEAR_ACCESS_TOKEN: sim.options.accessToken,
      KLEAR_TIER: 'prime',
      KLEAR_MAX_RETRIES: '0',
      KLEAR_TIMEOUT_MS: '20000',
      REPORTS_DIR: reportsDir,
      WORKER_JOBS_ENABLED: 'false',
      // Production horizon; the periodic full and deep re-walks pushed beyond the week: incremental runs only.
      INGEST_CORRECTION_HORIZON_HOURS: '168',
      INGEST_OBLIGATION_FULL_REWALK_HOURS: '8760',
      INGEST_DEEP_REWALK_HOURS: '8760',
    });
    worker = await createWorkerApplication(config, { silent: true, klearClient: FAST_CLIENT, clock: new SimulatedTime(sim) });
  });
  afterAll(async () => {
    await worker?.close();
    await sim?.close();
    await db?.drop();
    if (reportsDir) rmSync(reportsDir, { recursive: true, force: true });
  });

  const admin = async (path: string, body: unknown = {}) => {
    const answer = await fetch(`${sim.adminUrl}${path}`, {
      method: 'POST',
      headers: { [ADMIN_TOKEN_HEADER]: sim.options.adminToken, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await answer.text();
    if (!answer.ok) throw new Error(`sim admin ${path}: ${answer.status} ${text}`);
    return parseKlearJson(text) as Record<string, unknown>;
  };
  const truth = async () =>
    parseKlearJson(
      await (await fetch(`${sim.adminUrl}/truth`, { headers: { [ADMIN_TOKEN_HEADER]: sim.options.adminToken } })).text(),
    ) as Truth;
  const run = (job: string, trigger: 'startup' | 'schedule') => worker.get(JobRunner).runToEnd(job, { trigger });
  const walked = async () => {
    const [klear, ours] = [truthFacts(await truth()), await databaseFacts(db.dataSource)];
    return { klear: Object.fromEntries(WALKED.map((k) => [k, klear[k]])), ours: Object.fromEntries(WALKED.map((k) => [k, ours[k]])) };
  };

  it('ends with the database equal to Klear truth', async () => {
    for (const job of ['obligation_history', 'balance_history']) expect((await run(job, 'startup'))?.status).toBe('succeeded');
    let corrections = 0;
    for (let step = 0; step < 21; step++) {
      const state = await admin('/clock/settle-open-cycle', { pay: true });
      if (step % 2 === 0) {
        // Fifteen cycles back: 45 obligations newer than it, so it sits on page 3.
        const cycles = (await truth()).obligations
          .map((o) => String(o.execution_time))
          .filter((t, i, all) => all.indexOf(t) === i)
          .sort()
          .reverse();
        await admin('/corrections', { cycle: cycles[15], entry_back_seconds: 18 * HOUR_SECONDS });
        corrections++;
      }
      for (const job of ['obligation_history', 'balance_history']) {
        const result = await run(job, 'schedule');
        expect({ step, job, status: result?.status, mode: (result?.details as { mode?: string })?.mode, at: state.now }).toEqual({
          step,
          job,
          status: 'succeeded',
          mode: 'incremental',
          at: state.now,
        });
      }
    }
    expect(corrections).toBe(11);
    const { klear, ours } = await walked();
    expect(klear.obligations.length).toBe((30 + 21) * 3);
    expect(ours).toEqual(klear);
  });
});
