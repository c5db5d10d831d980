import { systemClock } from '@app/clock';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { EntityManager } from 'typeorm';
import { AuditService } from '@app/audit';
import {
  LedgerEntryConflict,
  type LedgerEntryInput,
  LedgerFiguresRepository,
  LedgerRepository,
  LedgerService,
  LedgerValidationFailed,
} from '@app/ledger';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { until } from '../support/poll';
import { bufferMovement, marginRequirement, reversalOf, tradeSettlement } from './ledger-factory';

type NewEntry =
  | { kind: 'trade'; subtrader: number; markets: Array<{ m: number; pnl: bigint; fee: bigint }> }
  | { kind: 'margin'; subtrader: number; requirement: bigint }
  | { kind: 'buffer'; amount: bigint };
type Operation =
  | { op: 'post'; entries: NewEntry[] }
  | { op: 'repost'; pick: number }
  | { op: 'conflict'; pick: number }
  | { op: 'reverse'; pick: number }
  | { op: 'invalid'; entry: NewEntry; flaw: 'unbalanced' | 'unknown_target' | 'conflict_in_batch' };

/**
 * Writes an adjustment entry straight into the tables in `m`'s transaction, past the ledger's code:
 * two klear_settlement postings of `first` and `second` centicents, the entry declaring `declared`
 * postings (posting_count; null: none). Returns its ledger_seq.
 */
async function insertEntryBehindTheLedger(
  m: EntityManager,
  externalId: string,
  first: bigint,
  second: bigint,
  declared: number | null = 2,
): Promise<string> {
  const [row] = (await m.query(
    `INSERT INTO journal_entry (external_id, entry_type, effective_at, content_hash, created_by, posting_count) VALUES ($1, 'adjustment', now(), 'x', 't', $2) RETURNING ledger_seq`,
    [externalId, declared],
  )) as Array<{ ledger_seq: string }>;
  await m.query(
    `INSERT INTO journal_posting (entry_seq, line_no, account, amount_centicents) VALUES ($1, 1, 'klear_settlement', $2), ($1, 2, 'klear_settlement', $3)`,
    [row.ledger_seq, first.toString(), second.toString()],
  );
  return row.ledger_seq;
}

/**
 * Writes, behind the ledger, an adjustment entry of `cycle` (in the session of `q`: a transaction's
 * manager or a query runner) declaring as many postings as `amounts`, numbered from 1, each of
 * `amounts` to 'cash'. Returns its ledger_seq.
 */
async function entryOfCycle(
  q: { query(sql: string, params?: unknown[]): Promise<unknown> },
  externalId: string,
  cycle: string,
  amounts: bigint[],
): Promise<string> {
  const [row] = (await q.query(
    `INSERT INTO journal_entry (external_id, entry_type, effective_at, cycle, content_hash, created_by, posting_count) VALUES ($1, 'adjustment', now(), $2, 'x', 't', $3) RETURNING ledger_seq`,
    [externalId, cycle, amounts.length],
  )) as Array<{ ledger_seq: string }>;
  await q.query(
    `INSERT INTO journal_posting (entry_seq, line_no, account, amount_centicents, cycle, cycle_key)
     SELECT $1, n, 'cash', a, $2, $2 FROM unnest($3::bigint[]) WITH ORDINALITY AS u(a, n)`,
    [row.ledger_seq, cycle, amounts.map(String)],
  );
  return row.ledger_seq;
}

const subtrader = fc.integer({ min: 1, max: 3 });
const newEntry: fc.Arbitrary<NewEntry> = fc.oneof(
  fc.record({
    kind: fc.constant('trade' as const),
    subtrader,
    markets: fc.uniqueArray(
      fc.record({
        m: fc.integer({ min: 1, max: 3 }),
        pnl: fc.bigInt({ min: -10_000_000n, max: 10_000_000n }),
        fee: fc.bigInt({ min: 0n, max: 50_000n }),
      }),
      {
        minLength: 1,
        maxLength: 3,
        selector: (x) => x.m,
      },
    ),
  }),
  fc.record({ kind: fc.constant('margin' as const), subtrader, requirement: fc.bigInt({ min: 0n, max: 10n ** 12n }) }),
  fc.record({ kind: fc.constant('buffer' as const), amount: fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }) }),
);
const operation: fc.Arbitrary<Operation> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('post' as const), entries: fc.array(newEntry, { minLength: 1, maxLength: 3 }) }), weight: 4 },
  fc.record({ op: fc.constant('repost' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('conflict' as const), pick: fc.nat() }),
  { arbitrary: fc.record({ op: fc.constant('reverse' as const), pick: fc.nat() }), weight: 2 },
  fc.record({
    op: fc.constant('invalid' as const),
    entry: newEntry,
    flaw: fc.constantFrom('unbalanced' as const, 'unknown_target' as const, 'conflict_in_batch' as const),
  }),
);

/** What the ledger must hold: every accepted entry, and which ones are reversed. */
interface Model {
  entries: Map<string, LedgerEntryInput>;
  reversed: Set<string>;
}

describe('ledger invariants under random operation sequences', () => {
  let db: TestDatabase;
  let ledger: LedgerService;
  let figures: LedgerFiguresRepository;
  const model: Model = { entries: new Map(), reversed: new Set() };
  let run = 0;
  let serial = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    ledger = new LedgerService(new LedgerRepository(db.dataSource), new AuditService(db.dataSource, null, systemClock));
    figures = new LedgerFiguresRepository(db.dataSource);
  });
  afterAll(async () => db.drop());

  const snapshot = async () =>
    (await db.dataSource.query(
      `SELECT (SELECT count(*) FROM journal_entry)::int AS entries, (SELECT count(*) FROM journal_posting)::int AS postings,
              (SELECT coalesce(sum(abs(amount_centicents)), 0)::text FROM journal_posting) AS volume,
              (SELECT count(*) FROM subtrader)::int AS subtraders, (SELECT count(*) FROM audit_log)::int AS audit_rows`,
    )) as unknown[];
  const fingerprint = async (upTo: string) =>
    (await db.dataSource.query(
      `SELECT (SELECT md5(coalesce(string_agg(concat_ws('|', ledger_seq, external_id, entry_type, effective_at, cycle, subtrader_id, description, reverses_external_id, content_hash, created_at), ',' ORDER BY ledger_seq), ''))
                 FROM journal_entry WHERE ledger_seq <= $1) AS entries,
              (SELECT md5(coalesce(string_agg(concat_ws('|', entry_seq, line_no, account, market_ticker, amount_centicents, cycle, subtrader_id), ',' ORDER BY entry_seq, line_no), ''))
                 FROM journal_posting WHERE entry_seq <= $1) AS postings`,
      [upTo],
    )) as unknown[];

  function build(e: NewEntry, cycle: string): LedgerEntryInput {
    const id = `R${run}-E${++serial}`;
    if (e.kind === 'trade')
      return tradeSettlement(
        id,
        `ST-${e.subtrader}`,
        e.markets.map((m) => ({ ticker: `M-${m.m}`, pnl: m.pnl, fee: m.fee })),
        cycle,
      );
    if (e.kind === 'margin') return marginRequirement(id, `ST-${e.subtrader}`, e.requirement, cycle);
    return bufferMovement(id, e.amount, `REF-${serial}`);
  }

  /** Figures per (cycle, subtrader, market) as the model says: pnl, fees (= -fee postings), posting count. */
  function expectedMarketFigures(cycle: string) {
    const out = new Map<string, { pnl: bigint; fees: bigint; count: number }>();
    for (const entry of model.entries.values()) {
      const original = entry.reverses_external_id ? model.entries.get(entry.reverses_external_id) : entry;
      if (original?.cycle !== cycle) continue;
      for (const p of entry.postings) {
        if (p.account !== 'trading_pnl' && p.account !== 'trading_fees') continue;
        const key = `${original.subtrader_id}/${p.market_ticker}`;
        const f = out.get(key) ?? { pnl: 0n, fees: 0n, count: 0 };
        if (p.account === 'trading_pnl') f.pnl += BigInt(p.amount_centicents);
        else f.fees -= BigInt(p.amount_centicents);
        f.count += 1;
        out.set(key, f);
      }
    }
    return out;
  }

  async function expectRejectedChangesNothing(attempt: () => Promise<unknown>, error: new (...args: never[]) => Error) {
    const before = await snapshot();
    await expect(attempt()).rejects.toBeInstanceOf(error);
    expect(await snapshot()).toEqual(before);
  }

  it('keeps money conserved, balances equal to their postings, rejections without effect and history immutable', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 10 }), async (operations) => {
        run += 1;
        const cycle = new Date(Date.UTC(2027, 0, 1, 21) + run * 86_400_000).toISOString();
        const touchedCycles = new Set<string>([cycle]);
        const highWaterBefore = await ledger.highWaterMark();
        const historyBefore = await fingerprint(highWaterBefore);
        const existing = () => [...model.entries.values()];

        for (const o of operations) {
          if (o.op === 'post') {
            const entries = o.entries.map((e) => build(e, cycle));
            const result = await ledger.post(entries, 'property-test');
            expect(result).toMatchObject({ created: entries.length, unchanged: 0 });
            for (const e of entries) model.entries.set(e.external_id, e);
          } else if (o.op === 'repost' && model.entries.size > 0) {
            const entry = existing()[o.pick % model.entries.size];
            const before = await snapshot();
            expect(await ledger.post([entry], 'property-test')).toMatchObject({ created: 0, unchanged: 1 });
            const after = (await snapshot()) as Array<Record<string, unknown>>;
            // A no-op batch is still audited (one row), and nothing else moves.
            expect({ ...after[0], audit_rows: (after[0].audit_rows as number) - 1 }).toEqual((before as Array<Record<string, unknown>>)[0]);
          } else if (o.op === 'conflict' && model.entries.size > 0) {
            const entry = existing()[o.pick % model.entries.size];
            const changed = { ...entry, description: `changed ${serial}` };
            await expectRejectedChangesNothing(() => ledger.post([changed], 'property-test'), LedgerEntryConflict);
          } else if (o.op === 'reverse' && model.entries.size > 0) {
            const target = existing()[o.pick % model.entries.size];
            const reversal = reversalOf(target, `R${run}-REV${++serial}`);
            if (target.entry_type === 'reversal' || model.reversed.has(target.external_id)) {
              await expectRejectedChangesNothing(() => ledger.post([reversal], 'property-test'), LedgerValidationFailed);
            } else {
              await ledger.post([reversal], 'property-test');
              model.entries.set(reversal.external_id, reversal);
              model.reversed.add(target.external_id);
              if (target.cycle) touchedCycles.add(new Date(target.cycle).toISOString());
            }
          } else if (o.op === 'invalid') {
            const valid = build(o.entry, cycle);
            const flawed = build(o.entry, cycle);
            if (o.flaw === 'unbalanced')
              flawed.postings[0] = {
                ...flawed.postings[0],
                amount_centicents: (BigInt(flawed.postings[0].amount_centicents) + 1n).toString(),
              };
            if (o.flaw === 'unknown_target')
              Object.assign(flawed, reversalOf(valid, flawed.external_id), { reverses_external_id: `R${run}-MISSING` });
            if (o.flaw === 'conflict_in_batch') Object.assign(flawed, { external_id: valid.external_id, description: 'other content' });
            await expectRejectedChangesNothing(() => ledger.post([valid, flawed], 'property-test'), LedgerValidationFailed);
          }
        }

        const highWater = await ledger.highWaterMark();
        // Money is conserved: every entry balances, so the whole ledger sums to zero.
        const totals = (await db.dataSource.query(
          `SELECT (SELECT coalesce(sum(amount_centicents), 0)::text FROM journal_posting) AS total,
                  (SELECT count(*)::int FROM (SELECT entry_seq FROM journal_posting GROUP BY entry_seq HAVING sum(amount_centicents) <> 0) u) AS unbalanced,
                  (SELECT count(*)::int FROM journal_entry) AS entries`,
        )) as Array<{ total: string; unbalanced: number; entries: number }>;
        expect(totals[0]).toEqual({ total: '0', unbalanced: 0, entries: model.entries.size });
        // Balances equal the sum of their postings, account by account and per (cycle, subtrader, market).
        const expectedAccounts = new Map<string, bigint>();
        for (const e of model.entries.values())
          for (const p of e.postings)
            expectedAccounts.set(p.account, (expectedAccounts.get(p.account) ?? 0n) + BigInt(p.amount_centicents));
        expect(await figures.accountBalances(highWater)).toEqual(expectedAccounts);
        for (const c of touchedCycles) {
          const actual = await figures.marketFigures(c, highWater);
          const expected = expectedMarketFigures(c);
          expect(
            new Map(
              actual.map((f) => [
                `${f.subtraderId}/${f.marketTicker}`,
                { pnl: f.pnlCenticents, fees: f.feesCenticents, count: f.postingCount },
              ]),
            ),
          ).toEqual(expected);
          for (const f of actual) expect(f.totalCenticents).toBe(f.pnlCenticents - f.feesCenticents);
        }
        // No entry or posting booked before this run changed, and the database refuses to change one.
        expect(await fingerprint(highWaterBefore)).toEqual(historyBefore);
        if (highWater !== '0') {
          await expect(
            db.dataSource.query(`UPDATE journal_entry SET description = 'edited' WHERE ledger_seq = $1`, [highWater]),
          ).rejects.toThrow(/immutable: UPDATE refused/);
          await expect(db.dataSource.query(`DELETE FROM journal_posting WHERE entry_seq = $1`, [highWater])).rejects.toThrow(
            /immutable: DELETE refused/,
          );
        }
      }),
      { numRuns: 25 },
    );
  });

  it('refuses, in the database itself, unbalanced entries, postings added to a committed entry, and TRUNCATE', async () => {
    await ledger.post([marginRequirement('DB-1', 'ST-1', 10n)], 'property-test');
    const seq = (
      (await db.dataSource.query(`SELECT ledger_seq::text AS s FROM journal_entry WHERE external_id = 'DB-1'`)) as Array<{ s: string }>
    )[0].s;
    const before = await snapshot();
    await expect(
      db.dataSource.query(
        `INSERT INTO journal_posting (entry_seq, line_no, account, amount_centicents) VALUES ($1, 3, 'bank', 5), ($1, 4, 'bank', -5)`,
        [seq],
      ),
    ).rejects.toThrow(/only be added in the transaction that creates their entry/);
    await expect(
      db.dataSource.transaction(async (m) => {
        await insertEntryBehindTheLedger(m, 'DB-2', 5n, -4n);
      }),
    ).rejects.toThrow(/DB-2 is not balanced double entry/);
    await expect(db.dataSource.query('TRUNCATE journal_posting')).rejects.toThrow(/immutable: TRUNCATE refused/);
    expect(await snapshot()).toEqual(before);
  });

  /**
   * One transaction: a balanced entry of two postings behind the ledger, its deferred check run (SET
   * CONSTRAINTS ALL IMMEDIATE), then more klear_settlement postings of these amounts added to it.
   */
  function addedAfterTheEntrysCheck(externalId: string, amounts: bigint[]): Promise<void> {
    return db.dataSource.transaction(async (m) => {
      const seq = await insertEntryBehindTheLedger(m, externalId, 5n, -5n);
      await m.query('SET CONSTRAINTS ALL IMMEDIATE');
      await m.query('SET CONSTRAINTS ALL DEFERRED');
      await m.query(
        `INSERT INTO journal_posting (entry_seq, line_no, account, amount_centicents)
         SELECT $1, 2 + n, 'klear_settlement', a FROM unnest($2::bigint[]) WITH ORDINALITY AS u(a, n)`,
        [seq, amounts.map(String)],
      );
    });
  }

  it("refuses a posting added to a balanced entry later in its transaction, after SET CONSTRAINTS ALL IMMEDIATE ran the entry's check", async () => {
    const before = await snapshot();
    await expect(addedAfterTheEntrysCheck('DB-3', [7n])).rejects.toThrow(/DB-3 is not balanced double entry \(3 postings, sum 7/);
    expect(await snapshot()).toEqual(before);
  });

  /**
   * One transaction: a balanced entry of two postings behind the ledger (no cycle, no subtrader), then
   * one more posting of 7 centicents added to it, before or after SET CONSTRAINTS ALL IMMEDIATE ran the
   * entry's check. Each entry is checked in full once; the deferred per-posting check fires only for
   * lines past 2 and asks whether the line is within its entry's count: these are the postings it
   * would not see, which the check at the end of their statement must refuse.
   */
  function addedToTheEntry(externalId: string, line: number, labels: { cycle?: string; subtrader?: string }, afterCheck: boolean) {
    return db.dataSource.transaction(async (m) => {
      const seq = await insertEntryBehindTheLedger(m, externalId, 5n, -5n);
      if (afterCheck) {
        await m.query('SET CONSTRAINTS ALL IMMEDIATE');
        await m.query('SET CONSTRAINTS ALL DEFERRED');
      }
      if (labels.cycle) await m.query(`SELECT partition_ensure_month($1::timestamptz)`, [labels.cycle]);
      await m.query(
        `INSERT INTO journal_posting (entry_seq, line_no, account, amount_centicents, cycle, subtrader_id, cycle_key)
         VALUES ($1, $2, 'klear_settlement', 7, $3::timestamptz, $4, coalesce($3::timestamptz, '-infinity'))`,
        [seq, line, labels.cycle ?? null, labels.subtrader ?? null],
      );
    });
  }

  it("refuses, as it is inserted, a posting numbered below 1 or labelled with another cycle or subtrader than its entry's, before or after the entry's check", async () => {
    const before = await snapshot();
    const refused = /posting line -?\d+ refused: postings are numbered from 1 and carry their entry's cycle and subtrader/;
    for (const afterCheck of [true, false]) {
      // Line 0 and a negative line: the numbers below the entry's first line.
      await expect(addedToTheEntry(`DB-L0-${afterCheck}`, 0, {}, afterCheck)).rejects.toThrow(refused);
      await expect(addedToTheEntry(`DB-LN-${afterCheck}`, -1, {}, afterCheck)).rejects.toThrow(refused);
      // Line 1 again under another cycle: another month's partition, so the primary key does not stop it.
      await expect(addedToTheEntry(`DB-C1-${afterCheck}`, 1, { cycle: '2026-11-05T21:00:00Z' }, afterCheck)).rejects.toThrow(refused);
      await expect(
        addedToTheEntry(`DB-C2-${afterCheck}`, 2, { cycle: '2026-11-05T21:00:00Z', subtrader: 'ST-1' }, afterCheck),
      ).rejects.toThrow(refused);
      // Another subtrader in the entry's own partition, numbered past its lines.
      await expect(addedToTheEntry(`DB-S3-${afterCheck}`, 3, { subtrader: 'ST-1' }, afterCheck)).rejects.toThrow(refused);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('refuses an entry whose postings are not numbered 1 to n, so that no line a later posting could take is left unchecked', async () => {
    const before = await snapshot();
    const entryWithLines = (externalId: string, lines: number[], addLineAfterCheck?: number) =>
      db.dataSource.transaction(async (m) => {
        const [row] = (await m.query(
          `INSERT INTO journal_entry (external_id, entry_type, effective_at, content_hash, created_by, posting_count) VALUES ($1, 'adjustment', now(), 'x', 't', $2) RETURNING ledger_seq`,
          [externalId, lines.length],
        )) as Array<{ ledger_seq: string }>;
        await m.query(
          `INSERT INTO journal_posting (entry_seq, line_no, account, amount_centicents)
           SELECT $1, l, 'klear_settlement', CASE WHEN o = 1 THEN 5 ELSE -5 END FROM unnest($2::int[]) WITH ORDINALITY AS u(l, o)`,
          [row.ledger_seq, lines],
        );
        if (addLineAfterCheck !== undefined) {
          await m.query('SET CONSTRAINTS ALL IMMEDIATE');
          await m.query('SET CONSTRAINTS ALL DEFERRED');
          await m.query(
            `INSERT INTO journal_posting (entry_seq, line_no, account, amount_centicents) VALUES ($1, $2, 'klear_settlement', 7)`,
            [row.ledger_seq, addLineAfterCheck],
          );
        }
      });
    await expect(entryWithLines('DB-GAP-1', [1, 3])).rejects.toThrow(/DB-GAP-1 numbers its 2 postings 1 to 3, not 1 to 2/);
    await expect(entryWithLines('DB-GAP-2', [2, 3])).rejects.toThrow(/DB-GAP-2 numbers its 2 postings 2 to 3, not 1 to 2/);
    // The attack the numbering stops: lines 1 and 3 pass a count of 2, then a line 2 (which no later check would see) is added.
    await expect(entryWithLines('DB-GAP-3', [1, 3], 2)).rejects.toThrow(/DB-GAP-3 numbers its 2 postings 1 to 3, not 1 to 2/);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses an unbalanced entry, and a posting to an entry committed earlier, when temporary tables named journal_posting or journal_entry shadow the ledger', async () => {
    await ledger.post([marginRequirement('DB-T-1', 'ST-1', 10n, '2026-11-05T21:00:00Z')], 'property-test');
    const [{ seq }] = (await db.dataSource.query(
      `SELECT ledger_seq::text AS seq FROM journal_entry WHERE external_id = 'DB-T-1'`,
    )) as Array<{
      seq: string;
    }>;
    const before = await snapshot();
    // The checks would read the temporary table, first on an unqualified name: a balanced pair there, one real posting of 1,000,000.
    await expect(
      db.dataSource.transaction(async (m) => {
        await m.query(
          `CREATE TEMP TABLE journal_posting (entry_seq bigint, line_no int, amount_centicents bigint, cycle timestamptz, subtrader_id text, cycle_key timestamptz) ON COMMIT DROP`,
        );
        const [row] = (await m.query(
          `INSERT INTO public.journal_entry (external_id, entry_type, effective_at, content_hash, created_by, posting_count) VALUES ('DB-T-2', 'adjustment', now(), 'x', 't', 2) RETURNING ledger_seq`,
        )) as Array<{ ledger_seq: string }>;
        await m.query(
          `INSERT INTO public.journal_posting (entry_seq, line_no, account, amount_centicents) VALUES ($1, 1, 'cash', 1000000)`,
          [row.ledger_seq],
        );
        await m.query(
          `INSERT INTO pg_temp.journal_posting VALUES ($1, 1, 5, NULL, NULL, '-infinity'), ($1, 2, -5, NULL, NULL, '-infinity')`,
          [row.ledger_seq],
        );
      }),
    ).rejects.toThrow(/DB-T-2 is not balanced double entry \(1 postings, sum 1000000/);
    // A temporary journal_entry claiming the committed entry as this transaction's.
    await expect(
      db.dataSource.transaction(async (m) => {
        await m.query(
          `CREATE TEMP TABLE journal_entry (ledger_seq bigint, external_id text, cycle timestamptz, subtrader_id text, posting_count int) ON COMMIT DROP`,
        );
        await m.query(`INSERT INTO pg_temp.journal_entry VALUES ($1, 'DB-T-1', '2026-11-05T21:00:00Z', 'ST-1', 2)`, [seq]);
        await m.query(
          `INSERT INTO public.journal_posting (entry_seq, line_no, account, amount_centicents, cycle, cycle_key) VALUES ($1, 1, 'cash', 777, NULL, '-infinity')`,
          [seq],
        );
      }),
    ).rejects.toThrow(/only be added in the transaction that creates their entry/);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses to archive a month holding entries its own transaction wrote, so lines 1 and 2 of a checked entry cannot be freed and taken again', async () => {
    const before = await snapshot();
    await expect(
      db.dataSource.transaction(async (m) => {
        await m.query(`SELECT partition_ensure_month('2026-10-15T21:00:00Z')`);
        const [row] = (await m.query(
          `INSERT INTO journal_entry (external_id, entry_type, effective_at, cycle, content_hash, created_by, posting_count) VALUES ('DB-A-1', 'adjustment', now(), '2026-10-15T21:00:00Z', 'x', 't', 2) RETURNING ledger_seq`,
        )) as Array<{ ledger_seq: string }>;
        const pair = (first: bigint, second: bigint) =>
          m.query(
            `INSERT INTO journal_posting (entry_seq, line_no, account, amount_centicents, cycle, cycle_key)
             VALUES ($1, 1, 'cash', $2, '2026-10-15T21:00:00Z', '2026-10-15T21:00:00Z'), ($1, 2, 'cash', $3, '2026-10-15T21:00:00Z', '2026-10-15T21:00:00Z')`,
            [row.ledger_seq, first.toString(), second.toString()],
          );
        await pair(100n, -100n);
        await m.query('SET CONSTRAINTS ALL IMMEDIATE');
        await m.query('SET CONSTRAINTS ALL DEFERRED');
        await m.query(`SELECT * FROM partition_archive_month('2026-10-01T00:00:00Z')`);
        await pair(5_000_000n, 1n);
      }),
    ).rejects.toThrow(/month 2026-10 holds journal entries written by this transaction/);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses to make a month whose rows wait in a default partition in a transaction that wrote rows there, whose queued checks the move would drop', async () => {
    const before = await snapshot();
    const thirdPosting = (m: EntityManager, seq: string, cycle: string) =>
      m.query(
        `INSERT INTO journal_posting (entry_seq, line_no, account, amount_centicents, cycle, cycle_key) VALUES ($1, 3, 'cash', 1000000, $2, $2)`,
        [seq, cycle],
      );
    const refused = (month: string) =>
      new RegExp(`making month ${month} would move rows out of journal_posting_default by detaching it, which drops the checks queued`);
    // Months 2033-03 and 2033-05 have no partition: their postings wait in journal_posting_default. The
    // third posting of a checked entry waits there with its deferred check queued; making 2033-05 moves
    // that month's stray out by detaching the default, which drops the check.
    await expect(
      db.dataSource.transaction(async (m) => {
        await entryOfCycle(m, 'DB-D-STRAY', '2033-05-05T21:00:00Z', [1n, -1n]);
        const seq = await entryOfCycle(m, 'DB-D-1', '2033-03-05T21:00:00Z', [100n, -100n]);
        await m.query('SET CONSTRAINTS journal_entry_balanced IMMEDIATE');
        await thirdPosting(m, seq, '2033-03-05T21:00:00Z');
        await m.query(`SELECT partition_ensure_month('2033-05-05T21:00:00Z')`);
      }),
    ).rejects.toThrow(refused('2033-05'));
    // The same with the postings written in savepoints (their rows carry the savepoint's transaction id).
    await expect(
      db.dataSource.transaction(async (m) => {
        const entries = (await m.query(
          `INSERT INTO journal_entry (external_id, entry_type, effective_at, cycle, content_hash, created_by, posting_count)
           VALUES ('DB-S-STRAY', 'adjustment', now(), '2034-05-05T21:00:00Z', 'x', 't', 2), ('DB-S-1', 'adjustment', now(), '2034-04-05T21:00:00Z', 'x', 't', 2)
           RETURNING ledger_seq, cycle`,
        )) as Array<{ ledger_seq: string; cycle: Date }>;
        await m.query('SAVEPOINT s1');
        for (const e of entries)
          await m.query(
            `INSERT INTO journal_posting (entry_seq, line_no, account, amount_centicents, cycle, cycle_key) VALUES ($1, 1, 'cash', 100, $2, $2), ($1, 2, 'cash', -100, $2, $2)`,
            [e.ledger_seq, e.cycle],
          );
        await m.query('RELEASE s1');
        await m.query('SET CONSTRAINTS journal_entry_balanced IMMEDIATE');
        await m.query('SET CONSTRAINTS journal_entry_balanced DEFERRED');
        await m.query('SAVEPOINT s2');
        await thirdPosting(m, entries[1].ledger_seq, '2034-04-05T21:00:00Z');
        await m.query('RELEASE s2');
        await m.query(`SELECT partition_ensure_month('2034-05-05T21:00:00Z')`);
      }),
    ).rejects.toThrow(refused('2034-05'));
    expect(await snapshot()).toEqual(before);
    // A transaction that wrote elsewhere (a ledger import's entries, say) still moves another's strays,
    // and makes a month without strays.
    await db.dataSource.transaction(async (m) => entryOfCycle(m, 'DB-D-STRAY-2', '2035-05-05T21:00:00Z', [1n, -1n]));
    await db.dataSource.transaction(async (m) => {
      await insertEntryBehindTheLedger(m, 'DB-D-4', 6n, -6n);
      expect((await m.query(`SELECT partition_ensure_month('2035-05-05T21:00:00Z') AS made`)) as unknown[]).toEqual([{ made: 5 }]);
    });
    const [{ where }] = (await db.dataSource.query(
      `SELECT p.tableoid::regclass::text AS where FROM journal_posting p JOIN journal_entry e ON e.ledger_seq = p.entry_seq WHERE e.external_id = 'DB-D-STRAY-2' LIMIT 1`,
    )) as Array<{ where: string }>;
    expect(where).toBe('journal_posting_p203505');
    await db.dataSource.transaction(async (m) => {
      await insertEntryBehindTheLedger(m, 'DB-D-3', 4n, -4n);
      expect((await m.query(`SELECT partition_ensure_month('2035-09-05T21:00:00Z') AS made`)) as unknown[]).toEqual([{ made: 5 }]);
    });
  });

  it('knows its own rows in a default partition whatever ids other sessions take meanwhile, even when age() was first asked before the transaction had an id', async () => {
    // age() measures from an id it caches on first use: asked before this transaction had one, it
    // measured from the next id, and after other sessions took ids this transaction's rows passed for
    // another's (a fourth review committed this unbalanced entry so).
    const before = await snapshot();
    const other = db.dataSource.createQueryRunner();
    const attacker = db.dataSource.createQueryRunner();
    await other.connect();
    await attacker.connect();
    const takeIds = async (n: number) => {
      for (let i = 0; i < n; i++) await other.query('SELECT pg_current_xact_id()');
    };
    try {
      // A committed stray of 2037-05 waits in the default partition.
      await db.dataSource.transaction((m) => entryOfCycle(m, 'DB-AGE-STRAY', '2037-05-05T21:00:00Z', [1n, -1n]));
      const afterStray = await snapshot();
      await attacker.startTransaction();
      await attacker.query(`SELECT age('3'::xid)`);
      await takeIds(5);
      const seq = await entryOfCycle(attacker, 'DB-AGE-1', '2037-03-05T21:00:00Z', [100n, -100n]);
      await attacker.query('SET CONSTRAINTS journal_entry_balanced IMMEDIATE');
      await attacker.query(
        `INSERT INTO journal_posting (entry_seq, line_no, account, amount_centicents, cycle, cycle_key) VALUES ($1, 3, 'cash', 1000000, '2037-03-05T21:00:00Z', '2037-03-05T21:00:00Z')`,
        [seq],
      );
      await takeIds(10);
      const outcome = await attacker.query(`SELECT partition_ensure_month('2037-05-05T21:00:00Z')`).then(
        async () => {
          await attacker.commitTransaction();
          return 'committed';
        },
        async (error: Error) => {
          await attacker.rollbackTransaction();
          return error.message;
        },
      );
      expect(outcome).toMatch(/making month 2037-05 would move rows out of journal_posting_default by detaching it/);
      expect(await snapshot()).toEqual(afterStray);
      expect(afterStray).not.toEqual(before);
    } finally {
      await other.release();
      await attacker.release();
    }
  });

  it('refuses, with another session adding a stray while the month is being made, to detach a default partition holding a queued check', async () => {
    // The race a third review found: the month's strays looked for (none), another session commits one
    // before the month is made (its advisory lock keeps this session waiting meanwhile), the move then
    // detaches the default, and this session's queued posting check is gone.
    const month = '2036-06-05T21:00:00Z';
    const before = await snapshot();
    const other = db.dataSource.createQueryRunner();
    const attacker = db.dataSource.createQueryRunner();
    await other.connect();
    await attacker.connect();
    try {
      await other.startTransaction();
      await other.query(`SELECT pg_advisory_xact_lock(hashtextextended('partition:journal_posting_p203606', 0))`);
      await attacker.startTransaction();
      const [{ pid }] = (await attacker.query(`SELECT pg_backend_pid() AS pid`)) as Array<{ pid: number }>;
      const seq = await entryOfCycle(attacker, 'DB-R-1', '2036-03-05T21:00:00Z', [100n, -100n]);
      await attacker.query('SET CONSTRAINTS journal_entry_balanced IMMEDIATE');
      await attacker.query(
        `INSERT INTO journal_posting (entry_seq, line_no, account, amount_centicents, cycle, cycle_key) VALUES ($1, 3, 'cash', 1000000, '2036-03-05T21:00:00Z', '2036-03-05T21:00:00Z')`,
        [seq],
      );
      const making = attacker.query(`SELECT partition_ensure_month($1)`, [month]).then(
        () => attacker.commitTransaction(),
        async (error: unknown) => {
          await attacker.rollbackTransaction();
          throw error;
        },
      );
      const outcome = making.then(
        () => 'committed',
        (error: Error) => error.message,
      );
      await until(
        'the attacker waiting for the month lock',
        async () =>
          (await db.dataSource.query(`SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1`, [pid])) as Array<{
            wait_event_type: string | null;
          }>,
        (rows) => rows[0]?.wait_event_type === 'Lock',
      );
      // The stray: a balanced entry of the month being made, committed while the attacker waits.
      const [{ otherPid }] = (await other.query(`SELECT pg_backend_pid() AS "otherPid"`)) as Array<{ otherPid: number }>;
      let settled = false;
      const stray = (async () => {
        await entryOfCycle(other, 'DB-R-STRAY', month, [1n, -1n]);
        await other.commitTransaction();
      })().then(
        () => 'committed',
        async (error: Error) => {
          await other.rollbackTransaction();
          return error.message;
        },
      );
      void stray.finally(() => (settled = true));
      // Where the attacker locked the default before looking, the stray waits for it while the attacker
      // waits for the month's lock: PostgreSQL's deadlock check ends that after deadlock_timeout, and this
      // test ends it at once (the check's timer need not run under faketime) by cancelling the stray.
      const blocked = await until(
        'the stray committed or waiting for the attacker',
        async () =>
          settled ||
          (
            (await db.dataSource.query(`SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1`, [otherPid])) as Array<{
              wait_event_type: string | null;
            }>
          )[0]?.wait_event_type === 'Lock',
        (done) => done,
      );
      if (blocked && !settled) await db.dataSource.query(`SELECT pg_cancel_backend($1)`, [otherPid]);
      const [attacked, strayed] = await Promise.all([outcome, stray]);
      // The stray cancelled or the deadlock's victim, or the attacker refused: never an unbalanced commit.
      expect(attacked).not.toBe('committed');
      expect(
        [attacked, strayed].some((m) =>
          /deadlock detected|canceling statement|would move rows out of journal_posting_default|not balanced/.test(m),
        ),
      ).toBe(true);
      expect((await db.dataSource.query(`SELECT count(*)::int AS n FROM journal_entry WHERE external_id = 'DB-R-1'`)) as unknown[]).toEqual(
        [{ n: 0 }],
      );
      if (strayed === 'committed') expect(await snapshot()).not.toEqual(before);
      else expect(await snapshot()).toEqual(before);
    } finally {
      await other.release();
      await attacker.release();
    }
  });

  it('refuses an entry whose posting_count is not the number of its postings: more, fewer, none, or a balanced pair added later in its transaction', async () => {
    const before = await snapshot();
    // A page of GET /ledger/entries is chosen by posting_count: a count that lies would let a page pass its posting budget or hide postings.
    await expect(db.dataSource.transaction((m) => insertEntryBehindTheLedger(m, 'DB-4', 5n, -5n, 3))).rejects.toThrow(
      /DB-4 is not balanced double entry \(2 postings, sum 0, 0 mislabelled, 3 declared\)/,
    );
    await expect(db.dataSource.transaction((m) => insertEntryBehindTheLedger(m, 'DB-5', 5n, -5n, null))).rejects.toThrow(
      /DB-5 is not balanced double entry \(2 postings, sum 0, 0 mislabelled, none declared\)/,
    );
    await expect(addedAfterTheEntrysCheck('DB-6', [7n, -7n])).rejects.toThrow(
      /DB-6 is not balanced double entry \(4 postings, sum 0, 0 mislabelled, 2 declared\)/,
    );
    await expect(db.dataSource.transaction((m) => insertEntryBehindTheLedger(m, 'DB-7', 5n, -5n, 1))).rejects.toThrow(
      /CHK_journal_entry_posting_count/,
    );
    expect(await snapshot()).toEqual(before);
    // The ledger's own writer states the count it writes.
    await ledger.post([marginRequirement('DB-8', 'ST-1', 10n)], 'property-test');
    const [row] = (await db.dataSource.query(
      `SELECT e.posting_count, (SELECT count(*)::int FROM journal_posting p WHERE p.entry_seq = e.ledger_seq) AS postings FROM journal_entry e WHERE external_id = 'DB-8'`,
    )) as Array<{ posting_count: number; postings: number }>;
    expect(row).toEqual({ posting_count: 2, postings: 2 });
  });
});
