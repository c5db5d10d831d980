import { afterEach, describe, expect, it } from '@jest/globals';
import {
  expectDatabaseEqualsTruth,
  expectMidWalkChangesVersioned,
  faultRules,
  firedFaults,
  ingestUntilSettled,
  HEAVY_FAULT_MIX,
} from './fault-scenario';
import { IngestionWorld } from './ingestion-world';

describe('Ingestion under faults', () => {
  let world: IngestionWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it.each([101, 202, 303])('ends equal to the simulator truth with fault seed %i', async (seed) => {
    // 25 cycles at 20 per page: the obligation walk has a second page, where the mid-walk update hits.
    world = await IngestionWorld.start({ seed: seed % 50, days: 25, subtraders: 3, markets: 3 }, { KLEAR_TIMEOUT_MS: '600' });
    await world.admin('PUT', '/faults', { seed, rules: faultRules(HEAVY_FAULT_MIX) });
    await ingestUntilSettled(world);
    const kinds = new Set((await firedFaults(world)).fired.map((f) => f.kind));
    for (const kind of ['status', 'rate_limit_burst', 'duplicate_items', 'reorder_items', 'obligation_changed'])
      expect(kinds).toContain(kind);
    const rawTruth = await expectDatabaseEqualsTruth(world);
    expect(await expectMidWalkChangesVersioned(world, rawTruth)).toBeGreaterThanOrEqual(1);
  });
});
