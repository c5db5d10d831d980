import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { type RunningKlearSimulator, startKlearSimulator, ADMIN_TOKEN_HEADER } from '@apps/klear-sim';
import { INGESTION_JOB_NAMES, smallWorld, type Truth } from '../ingestion/ingestion-world';
import { databaseFacts, truthFacts } from '../ingestion/truth-comparison';
import { parseKlearJson } from '@app/klear-contract';
import { clockEnvironment } from '../support/child-env';

const ROOT = resolve(import.meta.dirname, '../..');
/**
 * The waits below end as soon as the database shows the state; their deadline only catches a hang.
 * 60 s was passed in the full suite on the shared 2-core machine at load 25 (a worker process's
 * start-up and catch-up of every ingestion job).
 */
const HANG_MS = 300_000;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('The worker process killed mid-run', () => {
  let sim: RunningKlearSimulator;
  let db: TestDatabase;
  let reportsDir: string;
  const children: ChildProcess[] = [];
  let logs = '';

  beforeAll(async () => {
    sim = await startKlearSimulator(smallWorld({ seed: 17, password: 'sim-login-password-9c1e' }));
    db = await createTestDatabase();
    reportsDir = mkdtempSync(join(tmpdir(), 'klear-crash-'));
  }, 120_000);
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await sim?.close();
    await db?.drop();
    rmSync(reportsDir, { recursive: true, force: true });
  });

  const admin = async (method: string, path: string, body?: unknown) => {
    const answer = await fetch(`${sim.adminUrl}${path}`, {
      method,
      headers: { [ADMIN_TOKEN_HEADER]: sim.options.adminToken, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return parseKlearJson(await answer.text());
  };
  const startWorker = (instance: string) => {
    const child = spawn(process.execPath, ['dist/apps/worker/src/main.js'], {
      cwd: ROOT,
      env: {
        ...clockEnvironment(),
        PATH: process.env.PATH,
        NODE_ENV: 'development',
        LOG_LEVEL: 'debug',
        DATABASE_URL: db.url,
        KLEAR_BASE_URL: sim.url,
        KLEAR_ADMIN_USER_ID: sim.options.adminUserId,
        KLEAR_ACCESS_TOKEN: sim.options.accessToken,
        KLEAR_TIER: 'prime',
        REPORTS_DIR: reportsDir,
        WORKER_INSTANCE_ID: instance,
        INGEST_OBLIGATION_FULL_REWALK_HOURS: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')));
    children.push(child);
    return child;
  };
  const exited = (child: ChildProcess) =>
    new Promise<number | string | null>((r) =>
      child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code, signal) => r(code ?? signal)),
    );

  it(
    'converges to the simulator truth after SIGKILL and a restart, with no duplicates',
    async () => {
      // Slow obligation pages, so the first worker is surely inside that run when it is killed.
      await admin('PUT', '/faults', { rules: [{ kind: 'latency', endpoint: '/margin/obligation_history', latency_ms: 1500 }] });
      const first = startWorker('crash-1');
      const killedRun = await until(
        'obligation_history to be running',
        async () => {
          const [row] = (await db.dataSource
            .query(`SELECT id FROM job_run WHERE job = 'obligation_history' AND status = 'running'`)
            .catch(() => [])) as Array<{ id: string }>;
          return row?.id;
        },
        HANG_MS,
      );
      first.kill('SIGKILL');
      expect(await exited(first)).toBe('SIGKILL');
      await admin('DELETE', '/faults');

      const second = startWorker('crash-2');
      await until(
        'the restarted worker to finish its catch-up',
        async () => {
          const [{ n }] = (await db.dataSource.query(
            `SELECT count(DISTINCT job)::int AS n FROM job_run WHERE worker_instance = 'crash-2' AND trigger = 'startup' AND status IN ('succeeded', 'failed') AND job = ANY($1)`,
            [INGESTION_JOB_NAMES],
          )) as Array<{ n: number }>;
          return n === INGESTION_JOB_NAMES.length ? n : undefined;
        },
        HANG_MS,
      );
      second.kill('SIGTERM');
      expect(await exited(second)).toBe(0);

      const [killed] = (await db.dataSource.query(`SELECT status FROM job_run WHERE id = $1`, [killedRun])) as Array<{ status: string }>;
      expect(killed.status).toBe('abandoned');
      const failed = (await db.dataSource.query(
        `SELECT job, error FROM job_run WHERE worker_instance = 'crash-2' AND status = 'failed'`,
      )) as unknown[];
      expect(failed).toEqual([]);
      const truth = (await admin('GET', '/truth')) as Truth;
      expect(await databaseFacts(db.dataSource)).toEqual(truthFacts(truth));
      const [dupes] = (await db.dataSource.query(
        `SELECT (SELECT count(*) FROM klear_obligation_version)::int AS versions, (SELECT count(*) FROM klear_obligation)::int AS obligations`,
      )) as Array<{ versions: number; obligations: number }>;
      expect(dupes.versions).toBe(dupes.obligations);
    },
    3 * HANG_MS,
  );

  it('never writes credentials or presigned URLs to its logs', () => {
    expect(logs).toMatch(/catch-up \d+\/\d+/);
    expect(logs).toContain('abandoned');
    const databasePassword = new URL(db.url).password;
    // A trust-auth server (DATABASE_URL without a password) has no database password to leak.
    for (const secret of [
      sim.options.accessToken,
      sim.options.password,
      sim.options.reportSigningKey,
      ...(databasePassword ? [databasePassword] : []),
    ]) {
      expect(secret.length).toBeGreaterThan(3);
      expect(logs).not.toContain(secret);
    }
    expect(logs).not.toMatch(/signature=[0-9a-f]{8}/);
    expect(logs).not.toMatch(/expires=\d/);
    expect(logs).not.toContain('/__files/reports/');
  });
});
