// PostgreSQL stopped under a running API (and worker), then started again: the process answers 503
// while the database is away and resumes on its own when it returns. Then every connection of both
// processes terminated in the middle of a run (pg_terminate_backend, 57P01): nothing crashes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { UsersService } from '@app/auth';
import { createDataSource, dedicatedPgClient, runMigrationsLocked, startThrowawayPostgres, type ThrowawayPostgres } from '@app/db';
import { JobRunner } from '@app/jobs';
import { createApiApplication } from '@apps/api';
import { type RunningKlearSimulator, startKlearSimulator } from '@apps/klear-sim';
import { createWorkerApplication } from '@apps/worker';
import { simAdmin } from '../klear-client/klear-client-world';
import { until } from '../support/poll';
import { testConfig } from '../support/api-world';

let server: ThrowawayPostgres;
let api: INestApplication;
let worker: INestApplicationContext | undefined;
let sim: RunningKlearSimulator;
let viewerToken: string;
let operatorToken: string;
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
async function waitForReadiness(status: number): Promise<void> {
  await until('readiness', ready, (r) => r.status === status, 120_000, 250);
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
  const operator = await users.createUser('dbloss-operator', ['operator', 'viewer'], 'test');
  operatorToken = (await users.issueToken(operator.id, 'test', 'test')).token;
  try {
    worker = await createWorkerApplication(config, {
      silent: true,
      klearClient: { retryInitialDelayMs: 10, retryMaxDelayMs: 20, maxRetries: 0 },
    });
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
    // Serving (200): `degraded` only says a key Klear pull is stale (never made yet here), not the database.
    const before = await ready();
    expect(before.status).toBe(200);
    expect(['ready', 'degraded']).toContain(before.body.status);
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

  it('survives every connection of the API and the worker terminated mid-run: 503 meanwhile, the run in flight recorded failed, all resumes', async () => {
    if (!worker) throw new Error('the worker application did not start: see stderr');
    const admin = dedicatedPgClient({ connectionString: databaseUrl.replace(/\/postgres(\?|$)/, '/template1$1') }, 'test admin');
    await admin.connect();
    try {
      // A withdrawal waiting for approval: nothing in the outage may move it.
      const created = await http()
        .post('/withdrawals')
        .set('Authorization', `Bearer ${operatorToken}`)
        .set('Idempotency-Key', 'dbloss-1')
        .send({ amount: '12.34', purpose: 'outage check' });
      expect(created.status).toBe(201);
      const before = (await http().get(`/withdrawals/${created.body.id}`).set('Authorization', `Bearer ${viewerToken}`)).body;
      expect(before.state).toBe('pending_approval');

      // A job in the middle of its run: its lock connection open, Klear's answer held.
      await simAdmin(sim, 'PUT', '/faults', { rules: [{ kind: 'hold', endpoint: '/margin/settlement_balance', times: 1 }] });
      const inFlight = worker.get(JobRunner).runToEnd('settlement_balance', { trigger: 'manual', requestedBy: 'database-loss-test' });
      await until(
        'held Klear call',
        async () => (await simAdmin(sim, 'GET', '/holds')).held.length,
        (n) => n === 1,
      );
      // A pooled connection checked out mid-transaction in each process (a request or a job in the middle of its work).
      const busy = await Promise.all(
        [api.get(DataSource), worker.get(DataSource)].map(async (ds) => {
          const runner = ds.createQueryRunner();
          await runner.startTransaction();
          await runner.query('SELECT 1');
          return runner;
        }),
      );

      // Nobody may connect meanwhile; then every backend of both processes is terminated.
      await admin.query('ALTER DATABASE postgres WITH ALLOW_CONNECTIONS false');
      const terminated = (
        await admin.query(
          `SELECT application_name AS app, pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = 'postgres' AND pid <> pg_backend_pid() ORDER BY 1`,
        )
      ).rows as Array<{ app: string; ok: boolean }>;
      const apps = new Set(terminated.filter((t) => t.ok).map((t) => t.app));
      expect([...apps].sort()).toEqual(expect.arrayContaining(['klear-api', 'klear-job-lock:settlement_balance', 'klear-worker']));
      await until(
        'backends gone',
        async () => Number((await admin.query(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = 'postgres'`)).rows[0].n),
        (n) => n === 0,
      );

      // Both processes are up: the API answers, routes say the database is unavailable.
      for (const path of ['/audit', '/withdrawals', '/jobs']) {
        const res = await http().get(path).set('Authorization', `Bearer ${viewerToken}`);
        expect({ path, status: res.status, code: res.body.code }).toEqual({ path, status: 503, code: 'DATABASE_UNAVAILABLE' });
      }
      expect((await http().get('/health/live')).status).toBe(200);
      for (const runner of busy) {
        await expect(runner.query('SELECT 1')).rejects.toThrow();
        await runner.release().catch(() => undefined);
      }

      // Klear answers now: the run finds its lock gone and the database away; it is recorded once the database is back.
      expect((await simAdmin(sim, 'POST', '/holds/release', {})).released).toBe(1);
      await simAdmin(sim, 'DELETE', '/faults');
      await admin.query('ALTER DATABASE postgres WITH ALLOW_CONNECTIONS true');
      const run = await inFlight;
      expect({ status: run?.status, error: run?.error }).toEqual({ status: 'failed', error: expect.stringMatching(/lock/) });

      // Everything resumes by itself.
      await waitForReadiness(200);
      expect((await http().get('/audit').set('Authorization', `Bearer ${viewerToken}`)).status).toBe(200);
      const again = await worker.get(JobRunner).runToEnd('settlement_balance', { trigger: 'manual', requestedBy: 'database-loss-test' });
      expect({ status: again?.status, error: again?.error ?? null }).toEqual({ status: 'succeeded', error: null });
      const after = (await http().get(`/withdrawals/${created.body.id}`).set('Authorization', `Bearer ${viewerToken}`)).body;
      expect({ state: after.state, updated_at: after.updated_at }).toEqual({ state: 'pending_approval', updated_at: before.updated_at });
    } finally {
      await admin.query('ALTER DATABASE postgres WITH ALLOW_CONNECTIONS true').catch(() => undefined);
      await admin.end().catch(() => undefined);
    }
  }, 180_000);
});
