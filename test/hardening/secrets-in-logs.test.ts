// A demo-sized run (simulator, API, worker jobs, Klear client in both auth modes) with every log line
// captured: no credential, token, cookie or presigned-URL signature may appear in it.
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import request from 'supertest';
import { UsersService } from '@app/auth';
import { ManualClock } from '@app/clock';
import { createLogger } from '@app/logging';
import { JobRunner } from '@app/jobs';
import { KlearClient } from '@app/klear-client';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { createApiApplication } from '@apps/api';
import { type RunningKlearSimulator, startKlearSimulator } from '@apps/klear-sim';
import { createWorkerApplication } from '@apps/worker';
import { simAdmin } from '../klear-client/klear-client-world';
import { testConfig } from '../support/api-world';
import type * as NodeFs from 'node:fs';

// pino writes through sonic-boom straight to fd 1 (fs.write/fs.writeSync), not process.stdout.write:
// capture at the fs level, for stdout and stderr, plus the stream methods for anything else.
const fs = createRequire(import.meta.url)('node:fs') as typeof NodeFs;
const captured: string[] = [];
const originals = { write: fs.write, writeSync: fs.writeSync, out: process.stdout.write, err: process.stderr.write };
const text = (data: unknown) =>
  typeof data === 'string' ? data : Buffer.isBuffer(data) || data instanceof Uint8Array ? Buffer.from(data).toString('utf8') : String(data);

function startCapture(): void {
  (fs as { writeSync: unknown }).writeSync = (fd: number, data: unknown, ...rest: unknown[]) => {
    if (fd === 1 || fd === 2) {
      captured.push(text(data));
      return typeof data === 'string' ? Buffer.byteLength(data) : (data as Uint8Array).length;
    }
    return (originals.writeSync as (...a: unknown[]) => number)(fd, data, ...rest);
  };
  (fs as { write: unknown }).write = (fd: number, data: unknown, ...rest: unknown[]) => {
    if (fd === 1 || fd === 2) {
      captured.push(text(data));
      const cb = rest.find((r) => typeof r === 'function') as ((e: null, n: number) => void) | undefined;
      const n = typeof data === 'string' ? Buffer.byteLength(data) : (data as Uint8Array).length;
      if (cb) process.nextTick(() => cb(null, n));
      return;
    }
    (originals.write as (...a: unknown[]) => void)(fd, data, ...rest);
  };
  process.stdout.write = ((chunk: unknown) => (captured.push(text(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: unknown) => (captured.push(text(chunk)), true)) as typeof process.stderr.write;
}

function stopCapture(): void {
  Object.assign(fs, { write: originals.write, writeSync: originals.writeSync });
  process.stdout.write = originals.out;
  process.stderr.write = originals.err;
}

// The test owns its time on both sides: the simulator's world and the product's clock start at the same
// fixed instant, so the reports' lookback window finds the simulated reports on any day the test runs.
const WORLD_START = '2026-11-20T21:00:00Z';
const clock = new ManualClock(WORLD_START);

const KLEAR = {
  email: 'treasury@member.test',
  password: 'Correct-Horse-Battery-7',
  mfaCode: '864209',
  accessToken: 'klear-at-9f8e7d6c5b4a39281706',
};

let db: TestDatabase;
let sim: RunningKlearSimulator;
let api: INestApplication;
let worker: INestApplicationContext;
const apiTokens: string[] = [];
const cookies: string[] = [];
const signatures: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  startCapture();
  sim = await startKlearSimulator({
    port: 0,
    rateLimit: false,
    seed: 7,
    startAt: WORLD_START,
    subtraders: 5,
    markets: 4,
    days: 12,
    withdrawalFailureRate: 0,
    ...KLEAR,
    legacySessionLogin: true,
  });
  const base = {
    DATABASE_URL: db.url,
    LOG_LEVEL: 'debug',
    KLEAR_BASE_URL: sim.url,
    KLEAR_ADMIN_USER_ID: sim.options.adminUserId,
    KLEAR_TIER: 'prime',
    WORKER_JOBS_ENABLED: 'false',
  };
  api = await createApiApplication(testConfig({ ...base, KLEAR_ACCESS_TOKEN: KLEAR.accessToken }), { clock });
  await api.init();
  // The worker logs in with a session (email, password, MFA; the legacy mode the simulator serves only when
  // asked, as the live API removed it): its jobs download presigned reports.
  worker = await createWorkerApplication(
    testConfig({
      ...base,
      KLEAR_AUTH_MODE: 'session',
      KLEAR_EMAIL: KLEAR.email,
      KLEAR_PASSWORD: KLEAR.password,
      KLEAR_MFA_CODE: KLEAR.mfaCode,
    }),
    { klearClient: { retryInitialDelayMs: 10, retryMaxDelayMs: 50 }, clock },
  );
}, 120_000);

afterAll(async () => {
  await worker?.close().catch(() => undefined);
  await api?.close().catch(() => undefined);
  await sim?.close().catch(() => undefined);
  stopCapture();
  await db?.drop();
}, 60_000);

function klearClient(mode: 'bearer' | 'session'): KlearClient {
  return new KlearClient({
    baseUrl: sim.url,
    credentials:
      mode === 'bearer'
        ? { mode, adminUserId: sim.options.adminUserId, accessToken: KLEAR.accessToken }
        : { mode, email: KLEAR.email, password: KLEAR.password, mfaCode: KLEAR.mfaCode },
    tier: 'prime',
    timeoutMs: 2000,
    maxRetries: 2,
    retryInitialDelayMs: 10,
    retryMaxDelayMs: 50,
    logger: createLogger(`klear-client-${mode}`, 'debug'),
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      cookies.push(...response.headers.getSetCookie().map((line) => line.split(';')[0].split('=').slice(1).join('=')));
      return response;
    },
  });
}

describe('no secret reaches a log line during a demo-sized run', () => {
  it('exercises the API with tokens, including failing and malformed calls', async () => {
    const users = api.get(UsersService);
    const admin = await users.createUser('secrets-admin', ['admin'], 'test');
    const adminToken = (await users.issueToken(admin.id, 'test', 'test')).token;
    apiTokens.push(adminToken);
    const http = () => request(api.getHttpServer());
    // A person arrives with a one-time invitation and makes their own token: neither may reach a log.
    const created = await http()
      .post('/users')
      .set('Authorization', `Bearer ${adminToken}`)
      .send({ name: 'secrets-viewer', roles: ['viewer'] });
    expect(created.status).toBe(201);
    const code = created.body.invitation.code as string;
    expect(code).toMatch(/^ksi_/);
    apiTokens.push(code);
    const issued = await http().post('/invitations/redeem').send({ code, label: 'laptop' });
    expect(issued.status).toBe(201);
    const viewerToken = (issued.body.token ?? issued.body.api_token) as string;
    expect(viewerToken).toMatch(/^kso_/);
    apiTokens.push(viewerToken);

    expect((await http().get('/audit').set('Authorization', `Bearer ${viewerToken}`)).status).toBe(200);
    expect((await http().get('/users').set('Authorization', `Bearer ${viewerToken}`)).status).toBe(403);
    expect((await http().get('/withdrawals/not-a-uuid').set('Authorization', `Bearer ${viewerToken}`)).status).toBe(400);
    expect(
      (
        await http()
          .post('/users')
          .set('Authorization', `Bearer ${adminToken}`)
          .set('content-type', 'application/json')
          .send(`{"token":"${viewerToken}",`)
      ).status,
    ).toBe(400);
    const wrong = `kso_${'Z'.repeat(43)}`;
    apiTokens.push(wrong);
    expect((await http().get('/audit').set('Authorization', `Bearer ${wrong}`)).status).toBe(401);
    // Tokens pasted into query strings (a common mistake) must not be logged either.
    expect(
      (await http().get(`/audit?token=${viewerToken}&access_token=${KLEAR.accessToken}`).set('Authorization', `Bearer ${viewerToken}`))
        .status,
    ).toBeLessThan(500);
    expect((await http().get(`/no-such-route?api_token=${adminToken}`).set('Authorization', `Bearer ${adminToken}`)).status).toBe(404);
  });

  it('exercises the Klear client in bearer and session modes, with a re-login and a presigned report download', async () => {
    const bearer = klearClient('bearer');
    const session = klearClient('session');
    expect((await bearer.getSettlementBalance()).raw.status).toBe(200);
    expect((await session.getSettlementBalance()).raw.status).toBe(200);
    await simAdmin(sim, 'POST', '/sessions/expire');
    expect((await session.getGuarantyFundBalance()).raw.status).toBe(200);
    const reports = await session.getMarginReports('2026-11-10', '2026-11-19');
    expect(reports.data.reports.length).toBeGreaterThan(0);
    const signed = new URL(reports.data.reports[0].url);
    signatures.push(...[...signed.searchParams.values()].filter((v) => v.length >= 8));
    expect(signatures.length).toBeGreaterThan(0);
    const file = await bearer.downloadReport(signed.toString());
    expect(file.data.size).toBeGreaterThan(0);
    expect(file.data.bytes.length).toBe(file.data.size);
    // A forged signature fails: its error is logged by the caller as operators would see it.
    const forged = new URL(signed);
    for (const key of [...forged.searchParams.keys()]) forged.searchParams.set(key, `${forged.searchParams.get(key)}0`);
    const failure = await bearer.downloadReport(forged.toString()).catch((e: Error) => e);
    expect(failure).toBeInstanceOf(Error);
    createLogger('operator-view', 'debug').error({ err: failure }, 'report download failed');
    expect(cookies.length).toBeGreaterThanOrEqual(2);
  });

  it('runs the worker ingestion jobs in session mode, reports included', async () => {
    const runner = worker.get(JobRunner);
    for (const job of ['settlement_balance', 'guaranty_fund', 'margin_reports']) {
      const run = await runner.runToEnd(job, { trigger: 'manual', requestedBy: 'secrets-test' });
      expect({ job, status: run?.status, error: run?.error ?? null }).toEqual({ job, status: 'succeeded', error: null });
    }
    const archived = (await db.dataSource.query(`SELECT count(*)::int AS n FROM klear_margin_report`)) as Array<{ n: number }>;
    expect(archived[0].n).toBeGreaterThan(0);
  }, 60_000);

  it('finds none of the tokens, credentials, cookies or signatures in the captured logs', async () => {
    await new Promise((resolve) => setTimeout(resolve, 200)); // let asynchronous log writes land
    const logs = captured.join('');
    // The capture really holds the run: request lines, Klear client lines, job lines.
    expect(logs).toMatch(/"statusCode":401/);
    expect(logs).toMatch(/klear/i);
    expect(logs).toMatch(/margin_reports/);
    const secrets: Array<[string, string]> = [
      ...apiTokens.map((t) => ['API token', t] as [string, string]),
      ['Klear access token', KLEAR.accessToken],
      ['Klear password', KLEAR.password],
      ...cookies.filter((c) => c.length >= 8).map((c) => ['session cookie', c] as [string, string]),
      ...signatures.map((s) => ['presigned URL signature', s] as [string, string]),
    ];
    const leaks = secrets
      .filter(([, value]) => logs.includes(value))
      .map(([kind, value]) => `${kind} ${value.slice(0, 6)}...: ${around(logs, value)}`);
    // Six digits can occur by chance inside a timestamp: only a standalone MFA code counts.
    if (new RegExp(`(?<![0-9])${KLEAR.mfaCode}(?![0-9])`).test(logs)) leaks.push(`MFA code: ${around(logs, KLEAR.mfaCode)}`);
    expect(leaks).toEqual([]);
  });
});

function around(haystack: string, needle: string): string {
  const at = haystack.indexOf(needle);
  return haystack.slice(Math.max(0, at - 150), at + needle.length + 50);
}
