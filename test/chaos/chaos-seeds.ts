import { appendFileSync } from 'node:fs';
import { mix32 } from '@apps/klear-sim';

/** The chaos scenarios; a failing (seed, scenario) pair replays with `--seed S --scenario X`. */
export const CHAOS_SCENARIOS = ['ingestion', 'withdrawals'] as const;
export type ChaosScenario = (typeof CHAOS_SCENARIOS)[number];

/** The seed `npm test` runs every scenario with (a second obligation page with mid-walk changes; a POST answered 429 with a Retry-After, then a re-approval round), so that the chaos code cannot rot unnoticed. */
export const FIXED_CHAOS_SEED = 20_240_810;

function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return mix32(h);
}

/**
 * A deterministic stream of choices for one seed and scenario: the same seed always yields the same
 * plan (mulberry32, seeded from the seed and the scenario name so that scenarios draw apart).
 */
export class ChaosRandom {
  private state: number;

  constructor(seed: number, stream: string) {
    this.state = mix32(seed ^ hashText(stream)) || 0x9e3779b9;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  uint32(): number {
    return Math.floor(this.next() * 0x1_0000_0000);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  /** A rate in [0, max], rounded to 3 decimals so that a plan prints readably; zero with probability `off`. */
  rate(max: number, off = 0.3): number {
    return this.chance(off) ? 0 : Math.round(this.next() * max * 1000) / 1000;
  }
}

/** The i-th seed of a randomized run from its base seed (positive, below 2^31, printable). */
export function seedAt(base: number, index: number): number {
  return (mix32(mix32(base) ^ mix32(index + 0x632be5ab)) % 0x7fff_ffff) + 1;
}

function parseSeed(name: string, raw: string): number {
  if (!/^[0-9]{1,10}$/.test(raw) || Number(raw) > 0xffff_ffff)
    throw new Error(`${name} must be an integer in [0, 4294967295], got "${raw}"`);
  return Number(raw);
}

/**
 * The seeds of this run, from the environment: CHAOS_SEED replays one; otherwise CHAOS_SEEDS (count)
 * seeds derived from CHAOS_BASE_SEED (the runner always sets it, from the clock unless given).
 */
export function chaosSeedsFromEnv(env: NodeJS.ProcessEnv = process.env): number[] {
  if (env.CHAOS_SEED) return [parseSeed('CHAOS_SEED', env.CHAOS_SEED)];
  const count = Number(env.CHAOS_SEEDS ?? '1');
  if (!Number.isInteger(count) || count < 1 || count > 10_000)
    throw new Error(`CHAOS_SEEDS must be a count from 1 to 10000, got "${env.CHAOS_SEEDS}"`);
  const base = env.CHAOS_BASE_SEED ? parseSeed('CHAOS_BASE_SEED', env.CHAOS_BASE_SEED) : FIXED_CHAOS_SEED;
  return Array.from({ length: count }, (_, i) => seedAt(base, i));
}

export function replayCommand(seed: number, scenario: ChaosScenario): string {
  return `npm run test:chaos -- --seed ${seed} --scenario ${scenario}`;
}

export interface ChaosOutcome {
  seed: number;
  scenario: ChaosScenario;
  ok: boolean;
  seconds: number;
  plan: unknown;
  error?: string;
}

const planText = (plan: unknown) => JSON.stringify(plan, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

/**
 * Runs one seed of one scenario: prints a PASS line, or a FAIL line with the replay command, appends
 * the outcome to CHAOS_REPORT_FILE (the runner's summary), and rethrows the failure for Jest.
 */
export async function runChaosCase<P>(
  scenario: ChaosScenario,
  seed: number,
  planFor: (seed: number) => P,
  run: (plan: P) => Promise<void>,
): Promise<void> {
  const started = Date.now();
  const plan = planFor(seed);
  let failure: unknown;
  try {
    await run(plan);
  } catch (error) {
    failure = error;
  }
  const outcome: ChaosOutcome = { seed, scenario, ok: failure === undefined, seconds: (Date.now() - started) / 1000, plan };
  if (failure !== undefined) outcome.error = failure instanceof Error ? failure.message.slice(0, 4000) : String(failure);
  const line = outcome.ok
    ? `CHAOS PASS seed=${seed} scenario=${scenario} ${outcome.seconds.toFixed(1)}s plan=${planText(plan)}`
    : `CHAOS FAIL seed=${seed} scenario=${scenario} replay: ${replayCommand(seed, scenario)}\n  plan=${planText(plan)}`;
  process.stderr.write(`${line}\n`);
  if (process.env.CHAOS_REPORT_FILE) appendFileSync(process.env.CHAOS_REPORT_FILE, `${planText(outcome)}\n`);
  if (failure !== undefined) throw failure;
}
