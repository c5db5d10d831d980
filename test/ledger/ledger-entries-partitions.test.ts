import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDataSource } from '@app/db';
import { LedgerRepository } from '@app/ledger';
import type { DataSource } from 'typeorm';
import { type ApiWorld, startApiWorld } from '../support/api-world';
import { auth, tradeSettlement } from './ledger-factory';

// Issue 18: a page of GET /ledger/entries read its postings by ledger position from every month
// partition of journal_posting (an index probe in each), so its cost grew with the number of months
// the ledger holds. Each entry's postings are now read from its own cycle's partition, the others
// pruned as the entry is looked up. Asserted on the executed plan of the very statement the repository
// sends (captured from its logger, run again under EXPLAIN ANALYZE with its parameters).
describe("GET /ledger/entries: postings read from the page's month partitions only", () => {
  let ctx: ApiWorld;
  let reader: DataSource;
  const sent: Array<[string, unknown]> = [];
  const months = ['2026-03-03T21:00:00.000Z', '2026-06-03T20:00:00.000Z', '2026-09-03T20:00:00.000Z'];

  beforeAll(async () => {
    ctx = await startApiWorld();
    for (const [i, cycle] of months.entries()) {
      const entries = Array.from({ length: 3 }, (_, n) =>
        tradeSettlement(`TS-${i}-${n}`, `ST-0000${n + 1}`, [{ ticker: 'BTC-PERP-001', pnl: BigInt(1000 * (n + 1)), fee: 10n }], cycle),
      );
      const res = await ctx.http().post('/ledger/entries').set(auth(ctx.tokens.operator)).send({ entries });
      expect(res.status).toBe(200);
    }
    reader = createDataSource({ url: ctx.db.url, poolSize: 1, applicationName: 'klear-test-ledger-partitions' });
    await reader.initialize();
    const logQuery = reader.logger.logQuery.bind(reader.logger);
    reader.logger.logQuery = (query, parameters) => {
      sent.push([query, parameters]);
      logQuery(query, parameters);
    };
  });
  afterAll(async () => {
    await reader?.destroy();
    await ctx?.close();
  });

  /** The executed plan's lines (EXPLAIN ANALYZE) of the last listEntries statement, run again with its parameters. */
  async function lastPlan(): Promise<string[]> {
    const [text, values] = sent.filter(([q]) => q.includes('FROM journal_posting p')).at(-1)!;
    const plan = (await reader.query(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${text}`, values as unknown[])) as Array<{
      'QUERY PLAN': string;
    }>;
    return plan.map((r) => r['QUERY PLAN']);
  }

  /** The journal_posting partitions the last listEntries statement scanned (executed, not pruned) when run again. */
  async function partitionsScanned(): Promise<string[]> {
    const names = (await lastPlan())
      .filter((line) => !line.includes('never executed'))
      .flatMap((line) => [...line.matchAll(/ on (journal_posting_\w+)/g)].map((m) => m[1]));
    return [...new Set(names)].sort();
  }

  it("a page of one month's entries scans that month's partition only, whatever other months hold", async () => {
    const all = (await reader.query(
      `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'journal_posting'::regclass`,
    )) as Array<{ relname: string }>;
    expect(all.length).toBeGreaterThan(months.length);

    const ledger = new LedgerRepository(reader);
    const page = await ledger.listEntries({ limit: 51, maxPostings: 400, cycle: months[1] });
    expect(page.map((e) => e.externalId)).toEqual(['TS-1-0', 'TS-1-1', 'TS-1-2']);
    expect(page.map((e) => e.postings.length)).toEqual([3, 3, 3]);
    // Before: every partition of journal_posting (the three months, those ahead, -infinity, default).
    expect(await partitionsScanned()).toEqual(['journal_posting_p202606']);
  });

  it('a page spanning two months scans those two, and its entries keep every posting', async () => {
    const ledger = new LedgerRepository(reader);
    const first = await ledger.listEntries({ limit: 2, maxPostings: 400 });
    const next = await ledger.listEntries({ limit: 4, maxPostings: 400, afterSeq: first[1].ledgerSeq });
    expect(next.map((e) => e.externalId)).toEqual(['TS-0-2', 'TS-1-0', 'TS-1-1', 'TS-1-2']);
    expect(next.map((e) => e.postings.map((p) => p.account))).toEqual(
      Array.from({ length: 4 }, () => ['trading_pnl', 'trading_fees', 'klear_settlement']),
    );
    expect(await partitionsScanned()).toEqual(['journal_posting_p202603', 'journal_posting_p202606']);
  });

  it('past the posting budget, the page still stops at the entry that would take it over', async () => {
    const ledger = new LedgerRepository(reader);
    const page = await ledger.listEntries({ limit: 9, maxPostings: 7 });
    expect(page.map((e) => [e.externalId, e.postings.length, e.pastBudget ?? false])).toEqual([
      ['TS-0-0', 3, false],
      ['TS-0-1', 3, false],
      ['TS-0-2', 0, true],
    ]);
  });

  it('a page reads only the postings of the entries it answers (each entry states its posting_count), not one past the budget', async () => {
    const ledger = new LedgerRepository(reader);
    const page = await ledger.listEntries({ limit: 9, maxPostings: 7 });
    expect(page.map((e) => e.postings.length)).toEqual([3, 3, 0]);
    // Rows each executed scan of a journal_posting partition returned, times its loops.
    const read = (await lastPlan())
      .filter((line) => / on journal_posting_\w+/.test(line) && !line.includes('never executed'))
      .map((line) => /rows=([\d.]+) loops=(\d+)/.exec(line)!)
      .reduce((n, m) => n + Number(m[1]) * Number(m[2]), 0);
    // Before: the page read its postings in one range up to the budget and one more (8) to find where 7 stop.
    expect(read).toBe(6);
  });

  it("the page's reversal lookups read an index of reversals only, and one entry still cannot be reversed twice", async () => {
    const [index] = (await reader.query(
      `SELECT indexdef FROM pg_indexes WHERE tablename = 'journal_entry' AND indexdef LIKE '%(reverses_external_id)%'`,
    )) as Array<{ indexdef: string }>;
    // Before: a unique index holding a NULL for every entry that reverses nothing (nearly the whole ledger).
    expect(index.indexdef).toContain('WHERE (reverses_external_id IS NOT NULL)');
    await new LedgerRepository(reader).listEntries({ limit: 51, maxPostings: 400 });
    const [text, values] = sent.filter(([q]) => q.includes('FROM journal_posting p')).at(-1)!;
    // The index serves the lookup (a join clause on the column proves it non-null); on these few rows the
    // planner would rather scan, so scans and other joins are priced out for this one plan.
    const plan = (await reader.transaction(async (tx) => {
      for (const off of ['enable_seqscan', 'enable_hashjoin', 'enable_mergejoin', 'enable_bitmapscan'])
        await tx.query(`SET LOCAL ${off} = off`);
      return tx.query(`EXPLAIN (COSTS OFF) ${text}`, values as unknown[]);
    })) as Array<{ 'QUERY PLAN': string }>;
    expect(plan.some((r) => r['QUERY PLAN'].includes('"IDX_journal_entry_reversal" on journal_entry r'))).toBe(true);

    const runner = reader.createQueryRunner();
    await runner.startTransaction();
    try {
      await runner.query(
        `INSERT INTO journal_entry (external_id, entry_type, effective_at, reverses_external_id, content_hash, created_by, asset_class, posting_count)
         VALUES ('REV-A', 'reversal', now(), 'TS-0-0', md5('a'), 'test', 'Crypto', 2)`,
      );
      await expect(
        runner.query(
          `INSERT INTO journal_entry (external_id, entry_type, effective_at, reverses_external_id, content_hash, created_by, asset_class, posting_count)
           VALUES ('REV-B', 'reversal', now(), 'TS-0-0', md5('b'), 'test', 'Crypto', 2)`,
        ),
      ).rejects.toMatchObject({ code: '23505' });
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
  });
});
