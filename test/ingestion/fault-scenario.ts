import { expect } from '@jest/globals';
import type { IngestionWorld, Truth } from './ingestion-world';
import { databaseFacts, truthFacts } from './truth-comparison';

/** The paged Klear endpoints, where duplicated and re-ordered items are injected. */
export const PAGED_ENDPOINTS = ['/margin/obligation_history', '/margin/settlement_balance_history'];

/** Probabilities per request of each fault kind, and how many mid-walk obligation changes to allow. */
export interface FaultMix {
  status503: number;
  status500: number;
  status502: number;
  rateLimitBurst: number;
  timeout: number;
  connectionReset: number;
  duplicateItems: number;
  reorderItems: number;
  obligationChanges: number;
}

/**
 * The heaviest fault mix ingestion must come through (first set by issue 4): 5xx, 429 bursts, timeouts,
 * resets, duplicated and re-ordered items, a mid-walk update. Chaos plans draw rates up to these.
 */
export const HEAVY_FAULT_MIX: FaultMix = {
  status503: 0.12,
  status500: 0.04,
  status502: 0.04,
  rateLimitBurst: 0.1,
  timeout: 0.05,
  connectionReset: 0.05,
  duplicateItems: 0.5,
  reorderItems: 0.5,
  // A terminal fault on the same request pre-empts the change: allow a few.
  obligationChanges: 3,
};

/** The simulator's fault rules for a mix (rules with a zero rate or count are left out). */
export function faultRules(mix: FaultMix): Array<Record<string, unknown>> {
  const rules: Array<Record<string, unknown>> = [
    { kind: 'status', status: 503, rate: mix.status503 },
    { kind: 'status', status: 500, rate: mix.status500 },
    { kind: 'status', status: 502, rate: mix.status502 },
    { kind: 'rate_limit_burst', rate: mix.rateLimitBurst, retry_after_seconds: 1 },
    { kind: 'timeout', rate: mix.timeout },
    { kind: 'connection_reset', rate: mix.connectionReset },
    ...PAGED_ENDPOINTS.flatMap((endpoint) => [
      { kind: 'duplicate_items', endpoint, rate: mix.duplicateItems },
      { kind: 'reorder_items', endpoint, rate: mix.reorderItems },
    ]),
  ].filter((rule) => (rule.rate as number) > 0);
  if (mix.obligationChanges > 0) rules.push({ kind: 'obligation_changed', times: mix.obligationChanges });
  return rules;
}

export interface FiredFaults {
  fired: Array<{ kind: string }>;
}

export const firedFaults = async (world: IngestionWorld) => (await world.admin('GET', '/faults')) as FiredFaults;

/**
 * Like the scheduler would: a start-up pass, then more passes until one succeeds everywhere, finds
 * nothing new, and saw no obligation change behind its walk (a change made after its page was read
 * waits for the next walk). Answers the statuses of the last pass.
 */
export async function ingestUntilSettled(world: IngestionWorld, maxPasses = 6): Promise<Record<string, string>> {
  let statuses = await world.runAll('startup');
  const changesSoFar = async () => (await firedFaults(world)).fired.filter((f) => f.kind === 'obligation_changed').length;
  for (let pass = 0; pass < maxPasses; pass++) {
    const changesBefore = await changesSoFar();
    statuses = await world.runAll('manual');
    const [{ n }] = (await world.db.dataSource.query(
      `SELECT items_written AS n FROM job_run WHERE id = (SELECT max(id) FROM job_run WHERE job = 'obligation_history')`,
    )) as Array<{ n: number }>;
    if (Object.values(statuses).every((s) => s === 'succeeded') && n === 0 && (await changesSoFar()) === changesBefore) break;
  }
  return statuses;
}

/** The job runs, one line each, so that a failure under load can be read. */
export async function jobRunLog(world: IngestionWorld): Promise<string> {
  return JSON.stringify(await world.db.dataSource.query(`SELECT id, job, trigger, status, items_written, error FROM job_run ORDER BY id`));
}

/**
 * With faults switched off: every Klear fact in the database equals the simulator's truth export,
 * line for line (a duplicated row is an extra line). Answers the raw truth.
 */
export async function expectDatabaseEqualsTruth(world: IngestionWorld, log: (text: string) => void = console.log): Promise<Truth> {
  await world.admin('DELETE', '/faults');
  const rawTruth = await world.truth();
  const facts = await databaseFacts(world.db.dataSource);
  const truth = truthFacts(rawTruth);
  if (JSON.stringify(facts) !== JSON.stringify(truth)) log(await jobRunLog(world));
  // Sorted line lists, not sets: a row ingested twice (under another key) is a line too many.
  expect(facts).toEqual(truth);
  return rawTruth;
}

/** Each obligation changed mid-walk was first read before the change: it kept that earlier version. Answers how many changed. */
export async function expectMidWalkChangesVersioned(world: IngestionWorld, rawTruth: Truth): Promise<number> {
  const changedCycles = [...new Set(rawTruth.injected_obligation_changes.map((c) => new Date(c.execution_time).toISOString()))];
  if (changedCycles.length === 0) return 0;
  const versions = (await world.db.dataSource.query(
    `SELECT count(*)::int AS n FROM klear_obligation_version v JOIN klear_obligation o ON o.id = v.obligation_id WHERE o.execution_time = ANY($1::timestamptz[]) GROUP BY o.id`,
    [changedCycles],
  )) as Array<{ n: number }>;
  expect(versions).toHaveLength(changedCycles.length);
  for (const v of versions) expect(v.n).toBeGreaterThanOrEqual(2);
  return changedCycles.length;
}
