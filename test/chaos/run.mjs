#!/usr/bin/env node
// The randomized chaos mode: `npm run test:chaos -- --seeds 50` (or `--seed S` to replay one seed),
// optionally `--scenario ingestion|withdrawals`, `--base-seed B`, `--workers N`.
// Runs Jest with test/chaos/jest.chaos.config.js; every seed derives its whole plan (world, faults,
// crash point, concurrency) from the seed alone, so a failing seed replays with the printed command.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCENARIOS = ['ingestion', 'withdrawals'];
const USAGE = 'usage: node test/chaos/run.mjs [--seeds N | --seed S] [--base-seed B] [--scenario ingestion|withdrawals] [--workers N]';

function fail(message) {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const args = { seeds: undefined, seed: undefined, baseSeed: undefined, scenario: undefined, workers: undefined };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i] ?? fail(`${flag} needs a value`);
    const integer = (max) => {
      const raw = value();
      if (!/^[0-9]+$/.test(raw) || Number(raw) > max) fail(`${flag} must be an integer from 0 to ${max}, got "${raw}"`);
      return Number(raw);
    };
    if (flag === '--seeds') args.seeds = integer(10_000);
    else if (flag === '--seed') args.seed = integer(0xffff_ffff);
    else if (flag === '--base-seed') args.baseSeed = integer(0xffff_ffff);
    else if (flag === '--workers') args.workers = integer(16);
    else if (flag === '--scenario') {
      args.scenario = value();
      if (!SCENARIOS.includes(args.scenario)) fail(`--scenario must be one of ${SCENARIOS.join(', ')}`);
    } else if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else fail(`unknown argument ${argv[i]}`);
  }
  if (args.seed !== undefined && (args.seeds !== undefined || args.baseSeed !== undefined)) fail('--seed replays one seed: do not combine it with --seeds or --base-seed');
  if (args.seeds === 0) fail('--seeds must be at least 1');
  return args;
}

const args = parseArgs(process.argv.slice(2));
const scenarios = args.scenario ? [args.scenario] : SCENARIOS;
const seedCount = args.seed !== undefined ? 1 : (args.seeds ?? 1);
const env = { ...process.env, NODE_OPTIONS: [process.env.NODE_OPTIONS, '--experimental-vm-modules'].filter(Boolean).join(' ') };
if (args.seed !== undefined) {
  env.CHAOS_SEED = String(args.seed);
  process.stdout.write(`chaos: replaying seed ${args.seed} (scenarios: ${scenarios.join(', ')})\n`);
} else {
  const base = args.baseSeed ?? Date.now() % 0xffff_ffff;
  env.CHAOS_SEEDS = String(seedCount);
  env.CHAOS_BASE_SEED = String(base);
  process.stdout.write(`chaos: base seed ${base}, ${seedCount} seed(s) (scenarios: ${scenarios.join(', ')}); same run again: npm run test:chaos -- --seeds ${seedCount} --base-seed ${base}\n`);
}

const workDir = mkdtempSync(join(tmpdir(), 'klear-chaos-'));
env.CHAOS_REPORT_FILE = join(workDir, 'outcomes.jsonl');
const started = Date.now();
const jestArgs = [
  join(ROOT, 'node_modules/jest/bin/jest.js'),
  '--config', join(ROOT, 'test/chaos/jest.chaos.config.js'),
  ...(args.workers ? ['--maxWorkers', String(args.workers)] : []),
  ...scenarios.map((s) => `test/chaos/${s}\\.chaos\\.ts$`),
];
const jest = spawn(process.execPath, jestArgs, { cwd: ROOT, env, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => jest.kill(signal));
const jestCode = await new Promise((resolve) => jest.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));

const outcomes = existsSync(env.CHAOS_REPORT_FILE)
  ? readFileSync(env.CHAOS_REPORT_FILE, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line))
  : [];
rmSync(workDir, { recursive: true, force: true });
const failed = outcomes.filter((o) => !o.ok);
const passed = outcomes.length - failed.length;
const expected = seedCount * scenarios.length;
const notRun = Math.max(0, expected - outcomes.length);
process.stdout.write('\n');
for (const o of failed) {
  process.stdout.write(`CHAOS FAIL seed=${o.seed} scenario=${o.scenario} replay: npm run test:chaos -- --seed ${o.seed} --scenario ${o.scenario}\n`);
  // The assertion's first lines (colour codes stripped): enough to tell failures apart.
  const reason = String(o.error ?? '').replace(/\u001b\[[0-9;]*m/g, '').split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 3);
  process.stdout.write(`  ${reason.join(' | ')}\n`);
}
const wall = ((Date.now() - started) / 1000).toFixed(1);
process.stdout.write(`chaos: ${passed} passed, ${failed.length} failed${notRun ? `, ${notRun} not run (Jest could not start them: see its output above)` : ''} (${expected} runs in ${wall}s)\n`);
process.exit(failed.length > 0 || notRun > 0 || jestCode !== 0 ? 1 : 0);
