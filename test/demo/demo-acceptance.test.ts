import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmptyDatabase } from '@app/testing';
import type { ReceivedMail } from '@apps/demo';
import { until } from '../support/poll';

/**
 * Issue 19's acceptance, on the built demo (`npm run demo` = build + dist/apps/demo/src/main.js): the
 * waiting withdrawal's approval email reaches both demo approvers in the mailbox whose web page is
 * printed, never the requester; the API's /metrics shows the pending withdrawal and the jobs'
 * last-success ages. Run again after the demo users were reset (a new generation, `demo-*-g2`): the
 * addresses follow the new users.
 */

const STARTED = 'Ctrl-C stops everything cleanly.';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

interface DemoRun {
  child: ChildProcess;
  output: () => string;
  exited: Promise<string>;
}

function startDemo(env: Record<string, string>): DemoRun {
  let out = '';
  // As from a shell: not Jest's NODE_ENV=test.
  const { NODE_ENV: _jest, ...shell } = process.env;
  const child = spawn(process.execPath, ['dist/apps/demo/src/main.js'], { env: { ...shell, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(`exit ${code ?? signal}`)));
  return { child, output: () => out, exited };
}

/** Waits for the printed summary (or the demo's end), then reads the printed URLs and ids from it. */
async function summaryOf(
  run: DemoRun,
): Promise<{ mailbox: string; metrics: string[]; withdrawalId: string; approvalLine: string; text: string }> {
  let ended = false;
  void run.exited.then(() => (ended = true));
  const text = await until(
    'the demo summary',
    async () => run.output(),
    (o) => o.includes(STARTED) || ended,
    600_000,
    250,
  );
  if (!text.includes(STARTED)) throw new Error(`the demo ended before its summary:\n${text}`);
  const field = (re: RegExp) => {
    const m = re.exec(text);
    if (!m) throw new Error(`${re} not in the demo's output:\n${text}`);
    return m[1];
  };
  return {
    mailbox: field(/^Mailbox\s+(\S+)/m),
    metrics: field(/^Metrics\s+(.+)$/m)
      .trim()
      .split(/\s+/),
    withdrawalId: field(/^Withdrawal waiting .*\(([0-9a-f-]{36})\)$/m),
    approvalLine: field(/^Approval email\s+(.+)$/m),
    text,
  };
}

async function stop(run: DemoRun): Promise<string> {
  run.child.kill('SIGINT');
  return run.exited;
}

const metric = (text: string, name: string, labels = '') => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
};

/** The America/New_York calendar day of an instant, YYYY-MM-DD. */
const etDay = (ms: number) => new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York' }).format(new Date(ms));

describe('npm run demo: the approval email and /metrics', () => {
  let dataRoot: string;
  let database: { url: string; drop(): Promise<void> };
  let env: Record<string, string>;
  let running: DemoRun | undefined;

  beforeAll(async () => {
    dataRoot = mkdtempSync(join(tmpdir(), 'klear-demo-test-'));
    database = await createEmptyDatabase();
    const [api, sim, smtp, web, metrics, workerMetrics] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    env = {
      DATABASE_URL: database.url,
      EMBEDDED_PG_DATA_DIR: join(dataRoot, 'pg'), // the demo keeps its files beside it (users, keys, simulator state)
      EXPORTS_DIR: join(dataRoot, 'exports'),
      LOG_LEVEL: 'warn',
      API_PORT: String(api),
      KLEAR_SIM_PORT: String(sim),
      DEMO_MAILBOX_SMTP_PORT: String(smtp),
      DEMO_MAILBOX_WEB_PORT: String(web),
      METRICS_PORT: String(metrics),
      METRICS_WORKER_PORT: String(workerMetrics),
    };
  });

  afterAll(async () => {
    if (running && running.child.exitCode === null) await stop(running);
    await database?.drop();
    rmSync(dataRoot, { recursive: true, force: true });
  });

  /** One demo run: its approval mail and its metrics; stopped with Ctrl-C (SIGINT) at the end. */
  async function runOnce(requester: string): Promise<{ approvalTo: string[]; text: string }> {
    running = startDemo(env);
    const summary = await summaryOf(running);
    expect(summary.mailbox).toBe(`http://127.0.0.1:${env.DEMO_MAILBOX_WEB_PORT}/`);
    const messages = (await (await fetch(`${summary.mailbox}messages.json`)).json()) as ReceivedMail[];
    const approval = messages.filter(
      (m) => m.subject.startsWith('[Klear SCM] Approval needed: ') && m.text.includes(`Withdrawal: ${summary.withdrawalId}`),
    );
    const approvalTo = approval.flatMap((m) => m.to).sort();
    expect(summary.approvalLine).toBe(`sent to ${approvalTo.join(', ')} (see the mailbox; never to the requester)`);
    for (const m of approval) {
      expect(m.subject).toBe(`[Klear SCM] Approval needed: Please approve the withdrawal of $250,000.00 (requested by ${requester})`);
      expect(m.text).toContain(`/withdrawals/${summary.withdrawalId}`);
    }
    expect(messages.filter((m) => m.to.includes('demo-operator@klear-demo.test') && m.subject.includes('Approval needed'))).toEqual([]);
    // The mailbox's web page lists them.
    const page = await (await fetch(summary.mailbox)).text();
    expect(page).toContain('Please approve the withdrawal of $250,000.00');

    // The API's /metrics: the pending withdrawal (this run's, plus any an earlier run left waiting) and the jobs' last-success ages.
    expect(summary.metrics).toEqual([
      `http://127.0.0.1:${env.METRICS_PORT}/metrics`,
      `http://127.0.0.1:${env.METRICS_WORKER_PORT}/metrics`,
    ]);
    const scrape = await (await fetch(summary.metrics[0])).text();
    expect(metric(scrape, 'klear_withdrawals', 'state="pending_approval"')).toBeGreaterThanOrEqual(1);
    expect(metric(scrape, 'klear_withdrawal_oldest_pending_approval_age_seconds')).toBeGreaterThan(0);
    for (const job of ['settlement_balance', 'active_obligation', 'settlement_estimate', 'obligation_history']) {
      expect(metric(scrape, 'klear_job_last_success_age_seconds', `job="${job}"`)).toBeGreaterThanOrEqual(0);
    }
    // The worker serves its own.
    const worker = await until(
      'the worker metrics',
      async () =>
        fetch(summary.metrics[1])
          .then((r) => r.status)
          .catch(() => 0),
      (s) => s === 200,
      120_000,
      250,
    );
    expect(worker).toBe(200);

    const ended = await stop(running);
    if (ended !== 'exit 0') process.stderr.write(`demo output:\n${running.output().slice(-3000)}\n`);
    expect(ended).toBe('exit 0');
    expect(running.output()).toContain('stopped cleanly.');
    return { approvalTo, text: summary.text };
  }

  it('delivers the approval email to both demo approvers and not the requester; /metrics shows the pending withdrawal and job ages', async () => {
    const first = await runOnce('demo-operator');
    expect(first.approvalTo).toEqual(['demo-approver-1@klear-demo.test', 'demo-approver-2@klear-demo.test']);
    expect(first.text).toContain('totp:code --user demo-approver-1\n');
  }, 900_000);

  it('shows the live API world: two asset classes, funding, a netted group, obligations completed from their pages, a funding break', () => {
    const text = running!.output();
    expect(text).toMatch(/^Obligations ingested\s+\d+ \(\d+ cycles reconciled\), asset classes Crypto, Equity$/m);
    const truncated =
      /^Truncated obligations\s+(\d+) completed from their pages, e\.g\. (\S+) \((Crypto|Equity)\): 1040 settlement details, (.+) cut at 1,000 inline and read in full$/m.exec(
        text,
      );
    expect(truncated).not.toBeNull();
    expect(Number(truncated![1])).toBeGreaterThan(0);
    expect(truncated![4]).toContain('settlement_details');
    const funding = /^Funding payments\s+(\d+) over (\d+) obligations; latest \S+: (\d+) payments, net (-?\$[\d,]+\.\d{4})$/m.exec(text);
    expect(funding).not.toBeNull();
    expect(Number(funding![1])).toBeGreaterThan(1_000);
    expect(text).toMatch(
      /^Netted group\s+GRP-0001: ST-00001, ST-00004, ST-00007, ST-00010, margin \$[\d,]+\.\d{4} \(GET \/subtrader-groups\)$/m,
    );
    expect(text).toMatch(/^Open breaks\s+\d+ \(.*funding \d+.*\)$/m);
  });

  it("names an active obligation per asset class, of today's cycle or the next (America/New_York)", () => {
    const line = /^Active obligation\s+(.+)$/m.exec(running!.output())?.[1] ?? '';
    const now = Date.now();
    const cycles = [...line.matchAll(/(Crypto|Equity) obl-\d{8}-\S+: cycle (\d{4}-\d{2}-\d{2}), 17:00 ET/g)].map((m) => [m[1], m[2]]);
    expect(cycles.map(([assetClass]) => assetClass)).toEqual(['Crypto', 'Equity']);
    // Today's or the next cycle: the demo started at most a few minutes ago, so one of these two days.
    for (const [, day] of cycles) expect([etDay(now), etDay(now + 86_400_000)]).toContain(day);
  });

  it('holds margin reports dated this week (the last seven days, America/New_York)', () => {
    const reports = /^Margin reports\s+(\d+) held, dated (\d{4}-\d{2}-\d{2}) to (\d{4}-\d{2}-\d{2}) \(GET \/reports\)$/m.exec(
      running!.output(),
    );
    expect(reports).not.toBeNull();
    expect(Number(reports![1])).toBeGreaterThan(0);
    const week = Array.from({ length: 7 }, (_, i) => etDay(Date.now() - i * 86_400_000));
    expect(week).toContain(reports![3]);
  });

  it('after the demo users are reset (a new generation of users), the approval email still reaches both approvers', async () => {
    // The kept tokens are lost: the demo retires the earlier users and makes `demo-*-g2`.
    rmSync(join(dataRoot, 'demo-users.json'));
    const second = await runOnce('demo-operator-g2');
    expect(second.approvalTo).toEqual(['demo-approver-1@klear-demo.test', 'demo-approver-2@klear-demo.test']);
    // The CLI is told the user's name in the product.
    expect(second.text).toContain('totp:code --user demo-approver-1-g2\n');
  }, 900_000);
});
