import { benchSecretsEnv } from './bench-key';
import { readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ConsoleAuthService, totpCode, UsersService } from '@app/auth';
import { systemClock } from '@app/clock';
import { loadConfig } from '@app/config';
import { launchChromium } from '@app/testing';
import type { DataSource } from 'typeorm';
import { createApiApplication } from '@apps/api';
import type { Measurement } from './results';

const TTI_TARGET_MS = 1500;
const BUNDLE_TARGET_KB = 350;
const BREAKS = 10_000;
const PENDING = 25;
const RUNS = 5;

export interface ConsoleBenchInput {
  dataSource: DataSource;
  databaseUrl: string;
  consoleDir: string;
  klear: { baseUrl: string; adminUserId: string; accessToken: string };
  log: (line: string) => void;
}

/** The largest JavaScript file of the built console, gzip-compressed (level 9 as a server would send it), in kB. */
export function largestBundleGzipKb(consoleDir: string): { file: string; kb: number } {
  const assets = join(resolve(consoleDir), 'assets');
  const sizes = readdirSync(assets)
    .filter((f) => f.endsWith('.js'))
    .map((f) => ({ file: f, kb: gzipSync(readFileSync(join(assets, f)), { level: 9 }).length / 1024 }));
  if (sizes.length === 0) throw new Error(`no JavaScript in ${assets}: run npm run build`);
  return sizes.sort((a, b) => b.kb - a.kb)[0];
}

/**
 * Time to interactive of the approval queue and of the breaks worklist, measured in Chromium: from
 * navigation start (the page's time origin) to the moment the first decision button (queue) or the
 * first break link (worklist) is in the DOM and enabled, read as `performance.now()` in the page.
 * The world: the bench database (10,000 subtraders), 10,000 open breaks and 25 pending requests
 * added when fewer are there. Median of 5 loads after one warm-up.
 */
export async function benchConsole(input: ConsoleBenchInput): Promise<Measurement[]> {
  const bundle = largestBundleGzipKb(input.consoleDir);
  const rows: Measurement[] = [
    {
      name: `console: largest JS bundle, gzip (${bundle.file})`,
      value: round(bundle.kb),
      unit: 'kB',
      floor: null,
      ratio: null,
      target: { on: 'value', op: '<', limit: BUNDLE_TARGET_KB },
    },
  ];
  await seedBreaks(input.dataSource);
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: input.databaseUrl,
    CONSOLE_DIR: input.consoleDir,
    KLEAR_BASE_URL: input.klear.baseUrl,
    KLEAR_ADMIN_USER_ID: input.klear.adminUserId,
    KLEAR_ACCESS_TOKEN: input.klear.accessToken,
    KLEAR_TIER: 'prime',
    API_EXPENSIVE_ROUTE_LIMIT: '100000000',
    API_AUTH_FAILURE_LIMIT: '100000000',
    ...benchSecretsEnv(),
  });
  const app = await createApiApplication(config, { silent: true });
  await app.listen(0, '127.0.0.1');
  const browser = await launchChromium();
  try {
    const origin = `http://localhost:${(app.getHttpServer().address() as AddressInfo).port}`;
    const users = app.get(UsersService);
    const stamp = process.hrtime.bigint().toString(36);
    const operator = await users.createUser(`bench-operator-${stamp}`, ['operator'], 'bench');
    const { token } = await users.issueToken(operator.id, 'bench', 'bench');
    const approver = await users.createUser(`bench-approver-${stamp}`, ['approver', 'operator'], 'bench');
    const password = `bench-password-${stamp}`;
    const { secret } = await app.get(ConsoleAuthService).setCredentials(approver.id, password, 'bench');
    let pending = 0;
    for (let i = 0; i < PENDING; i++) {
      const res = await fetch(`${origin}/withdrawals`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': `bench-${stamp}-${i}` },
        body: JSON.stringify({ amount: `${1000 + i}.00`, purpose: `bench request ${i}` }),
      });
      if (res.status === 201) pending += 1;
      else if (i === 0) input.log(`  withdrawal requests refused (${res.status}): the queue is measured with what is pending`);
    }
    const signIn = await fetch(`${origin}/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: approver.name, password, totp: totpCode(secret, systemClock.nowMs()) }),
    });
    if (signIn.status !== 200) throw new Error(`bench sign-in refused: ${signIn.status}`);
    const cookie = (signIn.headers.getSetCookie().find((c) => c.startsWith('klear_session=')) ?? '').split(';')[0].split('=')[1];
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addCookies([{ name: 'klear_session', value: cookie, url: origin, httpOnly: true, sameSite: 'Strict' }]);
    const page = await context.newPage();
    const tti = async (hash: string, ready: string): Promise<number> => {
      const samples: number[] = [];
      for (let i = 0; i <= RUNS; i++) {
        await page.goto('about:blank');
        await page.goto(`${origin}/${hash}`, { waitUntil: 'commit' });
        await page.locator(ready).first().waitFor({ state: 'visible', timeout: 60_000 });
        const at = await page.evaluate(() => performance.now());
        if (i > 0) samples.push(at);
        if (process.env.BENCH_CONSOLE_TRACE && i === RUNS) {
          const entries = await page.evaluate(() =>
            performance.getEntriesByType('resource').map((e) => `${Math.round(e.startTime)}+${Math.round(e.duration)} ${e.name}`),
          );
          input.log(`  ${hash} ${Math.round(at)} ms:\n    ${entries.join('\n    ')}`);
        }
      }
      return round(samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)]);
    };
    input.log(
      `  load average while measuring: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(', ')} (${cpus().length} cores)`,
    );
    const [open] = (await input.dataSource.query(`SELECT count(*)::int AS n FROM recon_break WHERE status = 'open'`)) as Array<{
      n: number;
    }>;
    const queue = await tti('#/queue', pending > 0 ? 'button:has-text("Approve…"):enabled' : 'h1:has-text("Approval queue")');
    const breaks = await tti('#/breaks?status=open', '[role="table"] [role="row"] a[href^="#/breaks/"]');
    rows.push(
      {
        name: `console TTI: approval queue (${pending} pending)`,
        value: queue,
        unit: 'ms',
        floor: null,
        ratio: null,
        target: { on: 'value', op: '<', limit: TTI_TARGET_MS },
      },
      {
        name: `console TTI: breaks worklist (${open.n} open, server-paged)`,
        value: breaks,
        unit: 'ms',
        floor: null,
        ratio: null,
        target: { on: 'value', op: '<', limit: TTI_TARGET_MS },
      },
    );
    await context.close();
    return rows;
  } finally {
    await browser.close();
    await app.close();
  }
}

/**
 * Tops the world up to 10,000 subtraders (known from Klear; `--only console` runs without the
 * ingestion benchmark that would load them) and 10,000 open breaks (one per subtrader), as rows of one
 * synthetic run.
 */
async function seedBreaks(dataSource: DataSource): Promise<void> {
  await dataSource.query(
    `INSERT INTO subtrader (subtrader_id, first_seen_in_klear_at)
     SELECT 'ST-' || lpad(g::text, 5, '0'), '2030-01-01T20:00:00Z' FROM generate_series(1, $1::int) g ON CONFLICT DO NOTHING`,
    [BREAKS],
  );
  const [have] = (await dataSource.query(`SELECT count(*)::int AS n FROM recon_break WHERE status = 'open'`)) as Array<{ n: number }>;
  const missing = BREAKS - have.n;
  if (missing <= 0) return;
  const [run] = (await dataSource.query(
    `INSERT INTO recon_run (scope, scope_key, cycle, inputs, inputs_sha256, status, started_at, finished_at, break_count, summary, created_by)
     VALUES ('cycle', 'cycle/bench-console', '2030-01-01T20:00:00Z', '{}'::jsonb, md5('bench-console'), 'succeeded', '2030-01-01T20:01:00Z', '2030-01-01T20:02:00Z', $1, NULL, 'bench') RETURNING id::text AS id`,
    [missing],
  )) as Array<{ id: string }>;
  await dataSource.query(
    `INSERT INTO recon_break (scope_key, break_key, "check", cycle, subtrader_id, market_ticker, reason_code, klear_value_centicents, internal_value_centicents,
                              difference_centicents, status, first_seen_run, last_seen_run, created_at, updated_at)
     SELECT 'cycle/bench-console', 'settlement_details/bench-console/ST-' || lpad(g::text, 5, '0') || '/MKT-1', 'settlement_details', '2030-01-01T20:00:00Z',
            'ST-' || lpad(g::text, 5, '0'), 'MKT-1', 'amount_mismatch', 1000 + g, 1000, g, 'open', $1::bigint, $1::bigint, '2030-01-01T20:02:00Z', '2030-01-01T20:02:00Z'
       FROM generate_series(1, $2::int) g`,
    [run.id, missing],
  );
}

const round = (n: number) => Math.round(n * 10) / 10;
