import { afterEach, describe, expect, it, jest } from '@jest/globals';
import {
  balanceEntry as entry,
  balanceHistory as history,
  type ContractBalanceEntry,
  ContractWorld,
  obligationsAt,
} from './contract-klear-world';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let world: ContractWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const stored = () => world!.storedBalanceTotals();
const klearSum = () => world!.klearBalanceTotals().sum;

/**
 * A world whose Klear holds `older` entries and then, at one instant 2 h ago, fees of one transaction
 * (bt-fee-1) in the order given; the start-up walk succeeds.
 */
async function startWithFees(older: number, fees: bigint[]): Promise<void> {
  world = await ContractWorld.start();
  const at = Date.now() - 2 * HOUR;
  world.klear.balanceHistory = [...history(older, 3 * HOUR), ...fees.map((fee) => entry(at, fee, 'bt-fee-1', 'fee'))];
  expect((await world.run('balance_history', 'startup'))?.status).toBe('succeeded');
}

/** Reads the balance history again, incrementally and then whole: both runs succeed. */
async function walkAgainIncrementallyThenWhole(): Promise<void> {
  expect((await world!.run('balance_history'))?.status).toBe('succeeded');
  expect((await world!.run('balance_history', 'manual'))?.status).toBe('succeeded');
}

/**
 * `count` distinct entries a minute apart (the newest ten minutes ago), then an identical pair
 * (bt-fee-split) 30 s after the 500th newest of them: a page of 500 splits the pair.
 */
function historyWithSplitPair(count: number): ContractBalanceEntry[] {
  const distinct = history(count, 10 * MINUTE);
  const pairAt = Date.parse(distinct[count - 1 - 499].created_ts) + 30_000;
  return [...distinct, entry(pairAt, -50_000n, 'bt-fee-split', 'fee'), entry(pairAt, -50_000n, 'bt-fee-split', 'fee')];
}

/** Reads the balance history again, whole and then incrementally: both runs succeed. */
async function walkAgainWholeThenIncrementally(): Promise<void> {
  expect((await world!.run('balance_history', 'manual'))?.status).toBe('succeeded');
  expect((await world!.run('balance_history'))?.status).toBe('succeeded');
}

/**
 * The balance history walk (pages of 500, an opaque cursor) against a Klear of the test's own, with the
 * production walk settings: back-dated entries and entries Klear really holds twice.
 */
describe('Balance history walk', () => {
  jest.setTimeout(120_000);

  it('ingests an entry Klear back-dates 18 h at the next scheduled run: 1,200 held, one back-dated and one fresh entry added -> 1,202', async () => {
    world = await ContractWorld.start();
    // One entry a minute over 20 hours: the back-dated entry falls on the third page of 500.
    world.klear.balanceHistory = history(1_200, 10 * MINUTE);
    expect((await world.run('balance_history', 'startup'))?.status).toBe('succeeded');
    expect((await stored()).n).toBe(1_200);

    world.klear.balanceHistory.push(entry(Date.now() - 18 * HOUR, -123_456n, 'bt-backdated-adjustment', 'obligation_adjustment'));
    world.klear.balanceHistory.push(entry(Date.now() - MINUTE, 777n, 'bt-fresh'));
    const run = await world.run('balance_history');
    expect(run).toMatchObject({ status: 'succeeded', details: { mode: 'incremental' } });
    expect(await stored()).toEqual({ n: 1_202, sum: klearSum() });
    const [adjustment] = await world.query<{ delta: string }>(
      `SELECT balance_delta_centicents::text AS delta FROM klear_balance_history WHERE business_transaction_id = 'bt-backdated-adjustment'`,
    );
    expect(adjustment?.delta).toBe('-123456');
  });

  it('keeps entries Klear holds twice (no id tells them apart) and drops what a repeated walk reads again: stored movements sum to Klear balance change', async () => {
    // 600 entries (two pages); on the first page three entries of one transaction, two of them identical.
    await startWithFees(600, [-50_000n, -50_000n, -7_000n]);
    expect(await stored()).toEqual({ n: 603, sum: klearSum() });
    // Read again, whole and incrementally: nothing doubles.
    await walkAgainWholeThenIncrementally();
    expect(await stored()).toEqual({ n: 603, sum: klearSum() });
    const fees = await world!.query<{ delta: string; occurrence: number }>(
      `SELECT balance_delta_centicents::text AS delta, occurrence FROM klear_balance_history WHERE business_transaction_id = 'bt-fee-1' ORDER BY balance_delta_centicents, occurrence`,
    );
    expect(fees).toEqual([
      { delta: '-50000', occurrence: 0 },
      { delta: '-50000', occurrence: 1 },
      { delta: '-7000', occurrence: 0 },
    ]);
  });
});

/**
 * Identical entries that are not side by side, or that a page boundary splits: an entry's occurrence is
 * its rank among identical entries within its instant's block, counted over the whole block (re-read
 * from its start when a page boundary splits it), while what an overlapping page repeats is not stored
 * twice. Production walk settings.
 */
describe('Balance history: identical entries apart or split by a page boundary', () => {
  jest.setTimeout(180_000);

  const truth = () => world!.klearBalanceTotals();

  it('keeps two identical entries of one transaction with another entry of it between them at the same instant (A, B, A)', async () => {
    await startWithFees(20, [-50_000n, -7_000n, -50_000n]);
    expect(await stored()).toEqual(truth());
    // Read again, whole and incrementally, and in another order among the equal times: nothing doubles.
    world!.klear.balanceHistory.reverse();
    await walkAgainWholeThenIncrementally();
    expect(await stored()).toEqual(truth());
  });

  it('keeps two identical entries that a page boundary splits (the 500th and 501st of the walk), run after run', async () => {
    world = await ContractWorld.start();
    // 998 distinct entries; the identical pair falls between the 499th and 500th newest.
    world.klear.balanceHistory = historyWithSplitPair(998);
    // The split block is read again from its start: the 499 entries before it, then a page from there.
    expect(await world.run('balance_history', 'startup')).toMatchObject({ status: 'succeeded', details: { pages: 2, block_rereads: 2 } });
    expect(await stored()).toEqual(truth());
    await walkAgainIncrementallyThenWhole();
    expect(await stored()).toEqual(truth());
  });

  it('keeps a block of identical entries split by a page boundary when the block also holds other entries (A, B, A | A)', async () => {
    world = await ContractWorld.start();
    const distinct = history(997, 10 * MINUTE);
    const blockAt = Date.parse(distinct[996 - 497].created_ts) + 30_000;
    // Served newest first, later-created first among equal times: A, B, A on page 1 (498th to 500th), A on page 2.
    const a = () => entry(blockAt, -50_000n, 'bt-fee-block', 'fee');
    world.klear.balanceHistory = [...distinct, a(), a(), entry(blockAt, -7_000n, 'bt-fee-block', 'fee'), a()];
    expect((await world.run('balance_history', 'startup'))?.status).toBe('succeeded');
    expect(await stored()).toEqual(truth());
    expect((await world.run('balance_history'))?.status).toBe('succeeded');
    expect(await stored()).toEqual(truth());
  });

  it('stores nothing twice from overlapping pages (each repeats the entries before its cursor), identical pairs at the boundaries still kept', async () => {
    world = await ContractWorld.start();
    world.klear.balancePageOverlap = 2;
    // An identical pair split by the first page boundary, and a lone entry repeated by the second page's overlap.
    world.klear.balanceHistory = historyWithSplitPair(1_300);
    expect((await world.run('balance_history', 'startup'))?.status).toBe('succeeded');
    expect(await stored()).toEqual(truth());
    await walkAgainIncrementallyThenWhole();
    expect(await stored()).toEqual(truth());
  });

  it('keeps two entries whose created_ts differ only below the microsecond PostgreSQL keeps', async () => {
    world = await ContractWorld.start();
    const second = new Date(Date.now() - 2 * HOUR).toISOString().slice(0, 19);
    world.klear.balanceHistory = [
      ...history(5, 3 * HOUR),
      { ...entry(0, -50_000n, 'bt-ns', 'fee'), created_ts: `${second}.123456100Z` },
      { ...entry(0, -50_000n, 'bt-ns', 'fee'), created_ts: `${second}.123456400Z` },
    ];
    expect((await world.run('balance_history', 'startup'))?.status).toBe('succeeded');
    expect((await world.run('balance_history'))?.status).toBe('succeeded');
    expect(await stored()).toEqual(truth());
  });
});

describe('A NUL character in a string Klear sends', () => {
  jest.setTimeout(120_000);

  it('never blocks a walk: the string is stored escaped and the run records a contract error', async () => {
    world = await ContractWorld.start();
    world.klear.obligations = obligationsAt(Date.now() - 60 * MINUTE, 10, ['Crypto', 'Equity', 'Rates']);
    world.klear.obligations[0].asset_class = 'Crypto\u0000X';
    world.klear.balanceHistory = [...history(10, HOUR), entry(Date.now() - 2 * HOUR, -5n, 'bt-nul', 'fee\u0000')];

    const obligations = await world.run('obligation_history', 'startup');
    expect(obligations?.status).toBe('succeeded');
    expect((obligations?.details as { contract_errors: string[] }).contract_errors).toEqual([
      'GET /margin/obligation_history: obligations[0].asset_class held U+0000, stored as \\u0000',
    ]);
    expect(await world.query(`SELECT asset_class FROM klear_obligation WHERE id = $1`, [world.klear.obligations[0].id])).toEqual([
      { asset_class: 'Crypto\\u0000X' },
    ]);
    expect((await world.query<{ n: number }>(`SELECT count(*)::int AS n FROM klear_obligation`))[0].n).toBe(30);

    const balance = await world.run('balance_history', 'startup');
    expect(balance?.status).toBe('succeeded');
    expect((balance?.details as { contract_errors: string[] }).contract_errors).toEqual([
      'GET /margin/settlement_balance_history: entries[10].reason held U+0000, stored as \\u0000',
    ]);
    expect(await stored()).toEqual({ n: 11, sum: klearSum() });
  });
});
