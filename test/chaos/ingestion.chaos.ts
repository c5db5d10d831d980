import { describe, it } from '@jest/globals';
import { chaosSeedsFromEnv, runChaosCase } from './chaos-seeds';
import { ingestionChaosPlan, runIngestionChaos } from './ingestion-chaos';

// Randomized mode only (`node test/chaos/run.mjs`): one case per seed; a failing seed does not stop the others.
describe('chaos: ingestion under a seeded fault mix', () => {
  it.each(chaosSeedsFromEnv())(
    'ends equal to the simulator truth with seed %i',
    (seed) => runChaosCase('ingestion', seed, ingestionChaosPlan, runIngestionChaos),
    240_000,
  );
});
