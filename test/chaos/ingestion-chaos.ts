import { expect } from '@jest/globals';
import {
  expectDatabaseEqualsTruth,
  expectMidWalkChangesVersioned,
  type FaultMix,
  faultRules,
  ingestUntilSettled,
  HEAVY_FAULT_MIX as MAX,
} from '../ingestion/fault-scenario';
import { IngestionWorld } from '../ingestion/ingestion-world';
import { ChaosRandom } from './chaos-seeds';

/** Everything random about one ingestion run, derived from its seed. */
export interface IngestionChaosPlan {
  worldSeed: number;
  days: number;
  subtraders: number;
  markets: number;
  faultSeed: number;
  mix: FaultMix;
}

/**
 * Bounds: at most the rates of the heavy fault mix (a client with 8 retries must be able to get through in
 * a few passes), each kind off now and then; 4 to 26 cycles (above 20 the obligation walk has a second
 * page, where mid-walk changes hit), a world of 1-4 subtraders and markets.
 */
export function ingestionChaosPlan(seed: number): IngestionChaosPlan {
  const r = new ChaosRandom(seed, 'ingestion');
  return {
    worldSeed: r.uint32(),
    days: r.int(4, 26),
    subtraders: r.int(1, 4),
    markets: r.int(1, 4),
    faultSeed: r.uint32(),
    mix: {
      status503: r.rate(MAX.status503),
      status500: r.rate(MAX.status500),
      status502: r.rate(MAX.status502),
      rateLimitBurst: r.rate(MAX.rateLimitBurst),
      timeout: r.rate(MAX.timeout),
      connectionReset: r.rate(MAX.connectionReset),
      duplicateItems: r.rate(MAX.duplicateItems),
      reorderItems: r.rate(MAX.reorderItems),
      obligationChanges: r.int(0, MAX.obligationChanges),
    },
  };
}

/** Ingests every resource under the plan's faults, then the database must equal the simulator's truth. */
export async function runIngestionChaos(plan: IngestionChaosPlan): Promise<void> {
  const world = await IngestionWorld.start(
    { seed: plan.worldSeed, days: plan.days, subtraders: plan.subtraders, markets: plan.markets },
    { KLEAR_TIMEOUT_MS: '600' },
  );
  try {
    await world.admin('PUT', '/faults', { seed: plan.faultSeed, rules: faultRules(plan.mix) });
    const statuses = await ingestUntilSettled(world, 8);
    expect(statuses).toEqual(Object.fromEntries(Object.keys(statuses).map((job) => [job, 'succeeded'])));
    const truth = await expectDatabaseEqualsTruth(world, (text) => process.stderr.write(`job runs: ${text}\n`));
    await expectMidWalkChangesVersioned(world, truth);
  } finally {
    await world.close();
  }
}
