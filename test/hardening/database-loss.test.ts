// PostgreSQL stopped under a running API (and worker), then started again: the process answers 503
// while the database is away and resumes on its own when it returns.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import request from 'supertest';
import { UsersService } from '@app/auth';
import { createDataSource, runMigrationsLocked, startThrowawayPostgres, type ThrowawayPostgres } from '@app/db';
import { JobRunner } from '@app/jobs';
import { createApiApplication } from '../../apps/api/src/bootstrap';
import { type RunningKlearSimulator, startKlearSimulator } from '../../apps/klear-sim/src/index';
import { createWorkerApplication } from '../../apps/worker/src/bootstrap';
import { testConfig } from '../support/api-context';

let server: ThrowawayPostgres;
let api: INestApplication;
let worker: INestApplicationContext | undefined;
let sim: RunningKlearSimulator;
let viewerToken: string;
let databaseUrl: string;
const http = () => request(api.getHttpServer());

async function ready(): Promise<{ status: number; body: { status: string } }> {
  const res = await http().get('/health/ready');
  return { status: res.status, body: res.body };
}

/** The checks behind readiness: they need a token, so a database to authenticate against. */
async function details(): Promise<{ status: number; body: { status: string; checks: Record<string, { status: string }> } }> {
  const res = await http().get('/health/details').set('Authorization', `Bearer ${viewerToken}`);
  return { status: res.status, body: res.body };
}

/** Polls until the readiness answer matches: the pool needs a moment to notice the server is back. */
async function waitForReadiness(status: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await ready();
    if (r.status === status) return;
    if (Date.now() > deadline) throw new Error(`readiness stayed ${r.status} ${JSON.stringify(r.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

beforeAll(async () => {
  server = await startThrowawayPostgres({
    prefix: 'klear-dbloss-pg',
    onLog: (m) => void (process.env.DBLOSS_DEBUG && process.stderr.write(`[pg] ${m}\n`)),
  });
  databaseUrl = server.adminUrl;
  const migrator = createDataSource({ url: databaseUrl, poolSize: 3, applicationName: 'klear-dbloss-migrate' });
  await migrator.initialize();
  await runMigrationsLocked(migrator);
  await migrator.destroy();

  sim = await startKlearSimulator({ port: 0, rateLimit: false, seed: 11, subtraders: 3, markets: 2, days: 5, withdrawalFailureRate: 0 });
  const config = testConfig({
    DATABASE_URL: databaseUrl,
    KLEAR_BASE_URL: sim.url,
    KLEAR_AUTH_MODE: 'bearer',
    KLEAR_ADMIN_USER_ID: sim.options.adminUserId,
    KLEAR_ACCESS_TOKEN: sim.options.accessToken,
    KLEAR_MAX_RETRIES: '0',
    WORKER_JOBS_ENABLED: 'false',
  });
  api = await createApiApplication(config, { silent: true });
  await api.init();
  const users = api.get(UsersService);
  const viewer = await users.createUser('dbloss-viewer', ['viewer'], 'test');
  viewerToken = (await users.issueToken(viewer.id, 'test', 'test')).token;
  try {
    worker = await createWorkerApplication(config, { silent: true, klearClient: { retryInitialDelayMs: 10, retryMaxDelayMs: 20, maxRetries: 0 } });
  } catch (error) {
    // The worker is optional for the API half of this file; say why it is missing.
    process.stderr.write(`database-loss: worker not started: ${(error as Error).message}\n`);
  }
}, 120_000);

afterAll(async () => {
  await worker?.close().catch(() => undefined);
  await api?.close().catch(() => undefined);
  await sim?.close().catch(() => undefined);
  await server?.destroy();
}, 60_000);

describe('losing PostgreSQL while the API and the worker run', () => {
  it('serves readiness and routes normally before the outage', async () => {
    expect(await ready()).toEqual({ status: 200, body: { status: 'ready' } });
    const r = await details();
    expect(r.status).toBe(200);
    expect(r.body.checks.database.status).toBe('up');
    const audit = await http().get('/audit').set('Authorization', `Bearer ${viewerToken}`);
    expect(audit.status).toBe(200);
  });

  it('answers readiness 503 with the database down, protected routes 503 DATABASE_UNAVAILABLE, and keeps running', async () => {
    await server.stop();
    // The public answer says only that it is not ready, never why (no database error text).
    expect(await ready()).toEqual({ status: 503, body: { status: 'not_ready' } });

    for (const path of ['/audit', '/withdrawals', '/ledger/entries', '/withdrawal-policy']) {
      const res = await http().get(path).set('Authorization', `Bearer ${viewerToken}`);
      expect({ path, status: res.status, code: res.body.code, hasMessage: typeof res.body.message }).toEqual({
        path,
        status: 503,
        code: 'DATABASE_UNAVAILABLE',
        hasMessage: 'string',
      });
      expect(res.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres:\/\//);
    }
    // Liveness needs no database: the process is up.
    expect((await http().get('/health/live')).status).toBe(200);
  }, 60_000);

  it('runs a job during the outage to a failure (or a refusal) without crashing the worker', async () => {
    if (!worker) throw new Error('the worker application did not start: see stderr');
    const runner = worker.get(JobRunner);
    const run = await runner.runToEnd('settlement_balance', { trigger: 'manual', requestedBy: 'database-loss-test' });
    // With the database away, the run can be neither locked nor recorded: nothing may claim success.
    expect(run === null || run.status === 'failed').toBe(true);
  }, 60_000);

  it('returns to ready and serves routes and jobs again once PostgreSQL is back', async () => {
    await server.start();
    await waitForReadiness(200);
    const r = await details();
    expect(r.body.checks.database.status).toBe('up');
    expect(r.body.checks.migrations.status).toBe('up');
    const audit = await http().get('/audit').set('Authorization', `Bearer ${viewerToken}`);
    expect(audit.status).toBe(200);
    expect(Array.isArray(audit.body.data)).toBe(true);

    if (!worker) throw new Error('the worker application did not start: see stderr');
    const run = await worker.get(JobRunner).runToEnd('settlement_balance', { trigger: 'manual', requestedBy: 'database-loss-test' });
    expect(run?.error ?? null).toBeNull();
    expect(run?.status).toBe('succeeded');
    expect(run?.job).toBe('settlement_balance');
  }, 60_000);
});
