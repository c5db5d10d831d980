import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WithdrawalWorld } from './withdrawal-world';
import { clockEnvironment } from '../support/child-env';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DRILL_FROM_BUILD = 'apps/drills/src/executor-drill.main.js';
const DRILL = `dist/${DRILL_FROM_BUILD}`;
export const WITHDRAWAL_POST_PATH = '/margin/withdraw_settlement_balance';

export interface DrillRun {
  lines: string[];
  signal: NodeJS.Signals | null;
  code: number | null;
  summary: Record<string, any> | null;
}

/**
 * A build of the drills app and the libraries (what the drill needs) into a fresh directory under `parentDir` of the repo
 * (so that node_modules resolve): unlike dist/, no other test rebuilds it while a drill loads it.
 * Answers the drill script's path and a way to remove the build.
 */
export function buildPrivateExecutorDrill(parentDir: string): { script: string; remove: () => void } {
  const outDir = join(ROOT, parentDir, `${process.pid}-${Date.now()}`);
  mkdirSync(outDir, { recursive: true });
  execFileSync(join(ROOT, 'node_modules/.bin/swc'), ['apps/drills', 'libs', 'migrations', '-d', outDir, '--quiet'], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  return { script: join(outDir, DRILL_FROM_BUILD), remove: () => rmSync(outDir, { recursive: true, force: true }) };
}

/** One executor run in a child process; `onLine` may kill it (SIGKILL) at a moment of its choosing. */
export function runExecutorDrill(
  world: WithdrawalWorld,
  options: { crashAt?: string; onLine?: (line: string, kill: () => void) => void; script?: string; clockOffsetMs?: number } = {},
): Promise<DrillRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.script ?? DRILL], {
      cwd: ROOT,
      env: {
        ...clockEnvironment(),
        PATH: process.env.PATH,
        ...world.env,
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        ...(options.crashAt ? { WITHDRAWAL_DRILL_CRASH_AT: options.crashAt } : {}),
        ...(options.clockOffsetMs ? { WITHDRAWAL_DRILL_CLOCK_OFFSET_MS: String(options.clockOffsetMs) } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let stderr = '';
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        options.onLine?.(line, () => child.kill('SIGKILL'));
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal === null) return reject(new Error(`drill exited ${code}: ${stderr}`));
      const summaryLine = lines.find((l) => l.startsWith('SUMMARY '));
      resolve({ lines, signal, code, summary: summaryLine ? JSON.parse(summaryLine.slice(8)) : null });
    });
  });
}

/** HTTP requests to the withdrawal POST endpoint that reached the simulator (answered or not). */
export const postRequestsReceived = async (world: WithdrawalWorld) =>
  Number((await world.simAdmin('GET', '/counters')).requests_by_endpoint[WITHDRAWAL_POST_PATH] ?? 0);

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the grace period of the request's open attempt is over (counted from the record that its POST was leaving). */
export async function waitOutGrace(world: WithdrawalWorld, id: string, graceSeconds: number): Promise<void> {
  const attempt = (await world.get(id)).attempts.at(-1);
  const started = Date.parse(attempt.posted_at ?? attempt.started_at);
  await sleep(Math.max(0, started + graceSeconds * 1000 + 300 - Date.now()));
}
