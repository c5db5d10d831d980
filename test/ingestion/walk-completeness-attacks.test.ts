import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { ContractWorld, obligationsAt } from './contract-klear';

/**
 * Attacks on the completeness of the walked histories (docs/ingestion.md), written by an adversarial
 * review of issue 21: each is a case in which Klear publishes something that must be stored (or the
 * run must not succeed). Production walk settings, the contract-speaking Klear of
 * test/ingestion/contract-klear.ts.
 */
const HOUR = 3_600_000;

let world: ContractWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('execution_time with sub-millisecond digits meets code that reads it through a JS Date', () => {
  jest.setTimeout(120_000);

  // '' is the control (millisecond execution times: passes); '250' adds microseconds (fails: nothing reconciled).
  it.each(['', '250'])('reconciles every cycle whose execution_time Klear sends with sub-millisecond digits "%s"', async (micros) => {
    world = await ContractWorld.start();
    // Three cycles, one obligation each.
    world.klear.obligations = obligationsAt(Date.now() - 2 * HOUR, 3, ['Crypto']).map((o) => ({ ...o, execution_time: o.execution_time.replace(/Z$/, `${micros}Z`) }));
    expect((await world.run('obligation_history', 'startup'))?.status).toBe('succeeded');
    expect((await world.query<{ n: number }>(`SELECT count(*)::int AS n FROM klear_obligation`))[0].n).toBe(3);
    const run = await world.run('reconcile_cycles');
    expect(run?.status).toBe('succeeded');
    // Every ingested cycle gets a reconciliation run.
    expect({ reconciled: (run?.details as { reconciled: string[] }).reconciled.length, runs: (await world.query<{ n: number }>(`SELECT count(*)::int AS n FROM recon_run`))[0].n }).toEqual({ reconciled: 3, runs: 3 });
  });
});

