import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { buildPrivateExecutorDrill } from '../withdrawals/executor-drill-process';
import { chaosSeedsFromEnv, runChaosCase } from './chaos-seeds';
import { runWithdrawalChaos, withdrawalChaosPlan } from './withdrawal-chaos';

// Randomized mode only (`node test/chaos/run.mjs`): one case per seed; a failing seed does not stop the others.
let drill: ReturnType<typeof buildPrivateExecutorDrill> | undefined;
beforeAll(() => {
  drill = buildPrivateExecutorDrill('test/chaos/.drill-dist');
}, 120_000);
afterAll(() => drill?.remove());

describe('chaos: one withdrawal through a seeded crash, fault and concurrency', () => {
  it.each(chaosSeedsFromEnv())(
    'is sent to Klear exactly once and ends processed with seed %i',
    (seed) => runChaosCase('withdrawals', seed, withdrawalChaosPlan, (plan) => runWithdrawalChaos(plan, drill!.script)),
    240_000,
  );
});
