import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { ReconciliationRunRepository, ReconciliationService } from '@app/reconciliation';
import { ContractWorld, obligationsAt, type TieRule } from './contract-klear-world';

const HOUR = 3_600_000;
const CLASSES = ['Crypto', 'Equity', 'Rates'];
const manyClasses = (n: number) => Array.from({ length: n }, (_, i) => `Class${String(i).padStart(3, '0')}`);

/**
 * The obligation history walk against a Klear of the test's own: obligations sharing an execution_time
 * split by a page boundary, under either reading of the date-time cursor (next page strictly before
 * it, or at and before it). Production walk settings throughout.
 */
describe('Obligation history walk: ties at a page boundary', () => {
  jest.setTimeout(120_000);
  let world: ContractWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  const held = async () => (await world!.query<{ n: number }>(`SELECT count(*)::int AS n FROM klear_obligation`))[0].n;

  it.each<TieRule>(['strict', 'inclusive'])(
    'stores all 30 obligations of 10 execution times x 3 asset classes at page size 20 (%s cursor)',
    async (rule) => {
      world = await ContractWorld.start();
      world.klear.tieRule = rule;
      world.klear.obligations = obligationsAt(Date.now() - HOUR, 10, CLASSES);
      const run = await world.run('obligation_history', 'startup');
      expect(run?.status).toBe('succeeded');
      expect(await held()).toBe(30);
    },
  );

  it.each<TieRule>(['strict', 'inclusive'])(
    'stores 25 obligations sharing one execution_time (more than a page) and those before them, without looping (%s cursor)',
    async (rule) => {
      world = await ContractWorld.start();
      world.klear.tieRule = rule;
      world.klear.obligations = obligationsAt(Date.now() - HOUR, 3, manyClasses(25));
      const run = await world.run('obligation_history', 'startup');
      expect(run?.status).toBe('succeeded');
      expect(await held()).toBe(75);
      expect(world.klear.requestsTo('/margin/obligation_history').length).toBeLessThan(20);
    },
  );

  it.each<TieRule>(['strict', 'inclusive'])(
    'fails loudly, without looping, when more obligations share an instant than the largest page holds (%s cursor)',
    async (rule) => {
      world = await ContractWorld.start();
      world.klear.tieRule = rule;
      world.klear.obligations = obligationsAt(Date.now() - HOUR, 2, manyClasses(120));
      const run = await world.run('obligation_history', 'startup');
      expect(run?.status).toBe('failed');
      expect(run?.error).toContain('share the execution_time');
      expect(world.klear.requestsTo('/margin/obligation_history').length).toBeLessThan(10);
      // What could be read is stored: the largest page of the instant (and, strictly paged, every older one).
      expect(await held()).toBe(rule === 'strict' ? 200 : 100);
    },
  );
});

describe('Obligation history walk: corrections deep in the history', () => {
  jest.setTimeout(120_000);
  let world: ContractWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  const fees = async (id: string) =>
    (await world!.query<{ fees: string }>(`SELECT fees_centicents::text AS fees FROM klear_obligation WHERE id = $1`, [id]))[0]?.fees;
  const inputsSha = (cycle: Date) =>
    world!.worker
      .get(ReconciliationRunRepository)
      .currentInputsSha({ scope: 'cycle', cycle, settings: world!.worker.get(ReconciliationService).settings });

  it('reads a correction to an obligation on page 3 at the next scheduled incremental run; the cycle reconciliation fingerprint changes', async () => {
    world = await ContractWorld.start();
    // One asset class (no ties here): 60 hourly execution times, pages of 20.
    world.klear.obligations = obligationsAt(Date.now() - 2 * HOUR, 60, ['Crypto']);
    expect((await world.run('obligation_history', 'startup'))?.status).toBe('succeeded');
    const target = world.klear.obligations.find((o) => o.id === 'obl-45-Crypto')!;
    const cycle = new Date(target.execution_time);
    const before = await inputsSha(cycle);
    expect(before).toBeDefined();

    target.fees_centicents += 999n;
    target.last_updated_ts = new Date(Date.now() - 60_000).toISOString();
    world.klear.obligations.push(...obligationsAt(Date.now() - HOUR, 1, ['Crypto'], 'new'));
    const run = await world.run('obligation_history');
    expect(run).toMatchObject({ status: 'succeeded', details: { mode: 'incremental' } });
    expect(await fees('obl-45-Crypto')).toBe(String(145n + 999n));
    expect(await inputsSha(cycle)).not.toBe(before);
  });

  it('reads a correction beyond the correction horizon at the next deep re-walk, not before', async () => {
    world = await ContractWorld.start({ INGEST_CORRECTION_HORIZON_HOURS: '168', INGEST_DEEP_REWALK_HOURS: '168' });
    // Three pages within the last three days, three more ten days back (beyond the seven-day horizon).
    world.klear.obligations = [
      ...obligationsAt(Date.now() - HOUR, 60, ['Crypto']),
      ...obligationsAt(Date.now() - 10 * 24 * HOUR, 60, ['Crypto'], 'old'),
    ];
    expect((await world.run('obligation_history', 'startup'))?.status).toBe('succeeded');
    expect((await world.query<{ n: number }>(`SELECT count(*)::int AS n FROM klear_obligation`))[0].n).toBe(120);
    const target = world.klear.obligations.find((o) => o.id === 'old-45-Crypto')!;
    target.fees_centicents += 5n;
    target.last_updated_ts = new Date(Date.now() - 60_000).toISOString();

    expect(await world.run('obligation_history')).toMatchObject({ status: 'succeeded', details: { mode: 'incremental' } });
    expect(await fees('old-45-Crypto')).toBe('145');
    // A week after the last deep walk (its runs moved back: no waiting on the clock), the next run is deep.
    await world.query(
      `UPDATE job_run SET started_at = started_at - interval '8 days' WHERE job = 'obligation_history' AND details->>'mode' = 'deep'`,
    );
    expect(await world.run('obligation_history')).toMatchObject({ status: 'succeeded', details: { mode: 'deep' } });
    expect(await fees('old-45-Crypto')).toBe('150');
  });
});
