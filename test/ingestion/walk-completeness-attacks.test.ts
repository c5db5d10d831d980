import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { balanceHistory as history, ContractWorld, obligationsAt } from './contract-klear-world';

/**
 * Attacks on the completeness of the walked histories (docs/ingestion.md), written by an adversarial
 * review of issue 21: each is a case in which Klear publishes something that must be stored (or the
 * run must not succeed). Production walk settings, the contract-speaking Klear of
 * test/ingestion/contract-klear-world.ts.
 */
const HOUR = 3_600_000;
const MINUTE = 60_000;

/** The contract Klear's page builders, to bend one answer (they are private in the class, not at run time). */
interface Pages {
  balancePage: (limit: number, cursor: string | undefined) => string;
  obligationPage: (limit: number, cursor: string | undefined) => string;
}

let world: ContractWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const stored = () => world!.storedBalanceTotals();
const klearTruth = () => world!.klearBalanceTotals();

describe('an empty page that carries a cursor is not the last page (contract: the last page has no cursor)', () => {
  jest.setTimeout(120_000);

  it('balance history: the walk goes on past an empty page with a cursor, or the run does not succeed', async () => {
    world = await ContractWorld.start();
    world.klear.balanceHistory = history(1_200, 10 * MINUTE);
    const pages = world.klear as unknown as Pages;
    const real = pages.balancePage.bind(world.klear);
    let bent = false;
    pages.balancePage = (limit, cursor) => {
      if (cursor !== undefined && !bent) {
        bent = true;
        // Same position, another opaque token (Klear's cursor is opaque): a walk that follows it reads on.
        const again = Buffer.from(`${Buffer.from(cursor, 'base64url').toString()}/e`).toString('base64url');
        return `{"entries":[],"cursor":"${again}"}`;
      }
      return real(limit, cursor);
    };
    const run = await world.run('balance_history', 'startup');
    // Either every entry is stored, or the run says it is not complete.
    expect({ status: run?.status, stored: run?.status === 'succeeded' ? await stored() : klearTruth() }).toEqual({
      status: run?.status,
      stored: klearTruth(),
    });
  });

  it('obligation history: the walk goes on past an empty page with a cursor, or the run does not succeed', async () => {
    world = await ContractWorld.start();
    world.klear.obligations = obligationsAt(Date.now() - HOUR, 10, ['Crypto', 'Equity', 'Rates']);
    const pages = world.klear as unknown as Pages;
    const real = pages.obligationPage.bind(world.klear);
    let bent = false;
    pages.obligationPage = (limit, cursor) => {
      if (cursor !== undefined && !bent) {
        bent = true;
        return `{"obligations":[],"cursor":${JSON.stringify(cursor)}}`;
      }
      return real(limit, cursor);
    };
    const run = await world.run('obligation_history', 'startup');
    const [{ n }] = await world.query<{ n: number }>(`SELECT count(*)::int AS n FROM klear_obligation`);
    expect({ status: run?.status, stored: run?.status === 'succeeded' ? n : 30 }).toEqual({ status: run?.status, stored: 30 });
  });
});

describe('execution_time with sub-millisecond digits meets code that reads it through a JS Date', () => {
  jest.setTimeout(120_000);

  // '' is the control (millisecond execution times: passes); '250' adds microseconds (fails: nothing reconciled).
  it.each(['', '250'])('reconciles every cycle whose execution_time Klear sends with sub-millisecond digits "%s"', async (micros) => {
    world = await ContractWorld.start();
    // Three cycles, one obligation each.
    world.klear.obligations = obligationsAt(Date.now() - 2 * HOUR, 3, ['Crypto']).map((o) => ({
      ...o,
      execution_time: o.execution_time.replace(/Z$/, `${micros}Z`),
    }));
    expect((await world.run('obligation_history', 'startup'))?.status).toBe('succeeded');
    expect((await world.query<{ n: number }>(`SELECT count(*)::int AS n FROM klear_obligation`))[0].n).toBe(3);
    const run = await world.run('reconcile_cycles');
    expect(run?.status).toBe('succeeded');
    // Every ingested cycle gets a reconciliation run.
    expect({
      reconciled: (run?.details as { reconciled: string[] }).reconciled.length,
      runs: (await world.query<{ n: number }>(`SELECT count(*)::int AS n FROM recon_run`))[0].n,
    }).toEqual({ reconciled: 3, runs: 3 });
  });
});
