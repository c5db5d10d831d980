import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ApiWorld } from '../support/api-world';
import { clockEnvironment } from '../support/child-env';
import { type RunningKlearSimulator, startKlearSimulator } from '@apps/klear-sim';
import { apiOverSimulator, smallWorld } from '../ingestion/ingestion-world';

/**
 * Issue 22's acceptance: the README's operator walk ("The morning, command by command") runs as
 * written, with bash, curl and jq, against an API over the simulator that has pulled Klear,
 * reconciled and built a workbook as the demo has; and every route it calls is one /docs-json
 * documents. The README cannot drift from the API: this test reads the block from the README itself.
 */
const README = join(process.cwd(), 'README.md');

function morningWalk(): string {
  const text = readFileSync(README, 'utf8');
  const block = /<!-- morning-walk:start -->\n```bash\n([\s\S]*?)```\n<!-- morning-walk:end -->/.exec(text);
  if (!block) throw new Error('README.md has no morning-walk block');
  return block[1];
}

describe("the README's morning walk", () => {
  let sim: RunningKlearSimulator;
  let ctx: ApiWorld;
  let dir: string;
  let api: string;
  const as = (role: keyof ApiWorld['tokens']) => `Bearer ${ctx.tokens[role]}`;

  beforeAll(async () => {
    sim = await startKlearSimulator(smallWorld({ seed: 22 }));
    dir = mkdtempSync(join(tmpdir(), 'klear-readme-walk-'));
    ctx = await apiOverSimulator(sim, join(dir, 'reports'), { EXPORTS_DIR: join(dir, 'exports'), WORKER_BACKFILL_DAYS: '30' });
    await ctx.app.listen(0, '127.0.0.1');
    api = `http://127.0.0.1:${(ctx.app.getHttpServer().address() as { port: number }).port}`;
    // What the demo's worker has done by the morning: every pull, the reconciliation of each cycle, the day's workbook.
    for (const job of [
      'obligation_history',
      'active_obligation',
      'settlement_estimate',
      'settlement_balance',
      'balance_history',
      'reconcile_cycles',
    ]) {
      const res = await ctx.http().post(`/jobs/${job}/run?wait=true`).set('authorization', as('operator'));
      expect({ job, run: res.body.run?.status }).toEqual({ job, run: 'succeeded' });
    }
    const [latest] = (await ctx.http().get('/obligations?limit=1').set('authorization', as('viewer'))).body.data as Array<{
      execution_time: string;
    }>;
    const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York' }).format(new Date(latest.execution_time));
    const built = await ctx.http().post('/exports').set('authorization', as('operator')).send({ date: day });
    expect(built.status).toBe(201);
  });
  afterAll(async () => {
    await ctx?.close();
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('calls only routes /docs-json documents', async () => {
    const doc = (await ctx.http().get('/docs-json')).body as { paths: Record<string, unknown> };
    const documented = Object.keys(doc.paths).map((p) => new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}$`));
    // "$API$EXPORT": a path the API answered itself (a download_url) is not written in the README.
    const called = [...morningWalk().matchAll(/"\$API([^"?]*)[?"]/g)]
      .map((m) => m[1].replace(/\$\w+/g, 'x'))
      .filter((path) => path !== 'x');
    expect(called.length).toBeGreaterThan(15);
    expect(called.filter((path) => !documented.some((re) => re.test(path)))).toEqual([]);
  });

  it('runs as written: obligation, buffer, pulls, breaks, workbook, ledger import, two-approver withdrawal, audit', async () => {
    const { stdout, stderr } = await promisify(execFile)('bash', ['--norc', '--noprofile', '-c', `set -euo pipefail\n${morningWalk()}`], {
      cwd: process.cwd(),
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        TMPDIR: dir,
        ...clockEnvironment(),
        API: api,
        VIEWER: ctx.tokens.viewer,
        OPERATOR: ctx.tokens.operator,
        APPROVER1: ctx.tokens.approver,
        APPROVER2: ctx.tokens.approver2,
        APPROVER1_NAME: 'test-approver',
        APPROVER2_NAME: 'test-approver2',
      },
      maxBuffer: 10 * 1024 * 1024,
    });
    expect(stderr).toBe('');
    const lines = stdout.split('\n');
    for (const job of ['obligation_history', 'balance_history', 'reconcile_cycles']) expect(lines).toContain(`${job} succeeded`);
    expect(stdout).toMatch(/(the member pays Klear|Klear pays the member|no obligation is due|nothing is due)/);
    expect(lines).toContain('acknowledged: looking into it with treasury');
    expect(readFileSync(join(dir, 'klear-recon.xlsx')).subarray(0, 2).toString()).toBe('PK');
    expect(stdout).toMatch(/"status": "imported"/);
    expect(lines).toContain('pending_approval');
    expect(lines).toContain('approved');
    expect(stdout).toContain('["approved",["test-approver: ok per treasury sweep plan","test-approver2: second approval"]]');
    expect(stdout).toMatch(
      / test-approver2 withdrawal\.approved\n.* test-approver withdrawal\.approval\n.* test-operator withdrawal\.requested/,
    );
  }, 300_000);
});
