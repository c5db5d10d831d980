import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LedgerRepository } from '@app/ledger';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import type { EntityManager } from 'typeorm';
import { EntryPostingCount1796234300000 } from '../../migrations/1796234300000-EntryPostingCount';

/**
 * The migration that gives every journal entry its posting_count counts the postings of the entries
 * already in the ledger: those in the hot tables and those of months retention moved to the archive
 * schema. An entry whose postings were exported and dropped has none left to count: NULL, which the
 * ledger pages read as no postings.
 */
describe('migration EntryPostingCount: existing entries are counted', () => {
  let db: TestDatabase;
  const migration = new EntryPostingCount1796234300000();

  /** An entry of `postings` balanced postings in `cycle` (null: no cycle), written as the ledger wrote them before the column. */
  async function oldEntry(m: EntityManager, externalId: string, cycle: string | null, postings: number): Promise<void> {
    if (cycle) await m.query(`SELECT partition_ensure_month($1::timestamptz)`, [cycle]);
    const [{ seq }] = (await m.query(
      `INSERT INTO journal_entry (external_id, entry_type, effective_at, cycle, content_hash, created_by) VALUES ($1, 'adjustment', now(), $2, 'x', 't')
       RETURNING ledger_seq::text AS seq`,
      [externalId, cycle],
    )) as Array<{ seq: string }>;
    await m.query(
      `INSERT INTO journal_posting (entry_seq, line_no, account, amount_centicents, cycle, cycle_key)
       SELECT $1, n, 'klear_settlement', CASE WHEN n = $3 THEN -($3 - 1) ELSE 1 END, $2::timestamptz, coalesce($2::timestamptz, '-infinity')
         FROM generate_series(1, $3::int) n`,
      [seq, cycle, postings],
    );
  }

  async function seqOf(externalId: string): Promise<string> {
    const [{ seq }] = (await db.dataSource.query(`SELECT ledger_seq::text AS seq FROM journal_entry WHERE external_id = $1`, [
      externalId,
    ])) as Array<{
      seq: string;
    }>;
    return seq;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    const runner = db.dataSource.createQueryRunner();
    try {
      await migration.down(runner);
    } finally {
      await runner.release();
    }
    await db.dataSource.transaction(async (m) => {
      await oldEntry(m, 'HOT-3', '2026-06-03T20:00:00.000Z', 3);
      await oldEntry(m, 'NO-CYCLE-2', null, 2);
      await oldEntry(m, 'ARCHIVED-4', '2026-03-03T21:00:00.000Z', 4);
      await oldEntry(m, 'EXPORTED-5', '2026-04-03T20:00:00.000Z', 5);
    });
    await db.dataSource.query(`SELECT * FROM partition_archive_month('2026-03-01T00:00:00Z')`);
    await db.dataSource.query(`SELECT * FROM partition_archive_month('2026-04-01T00:00:00Z')`);
    await db.dataSource.query(`SELECT partition_drop_archived('2026-04-01T00:00:00Z')`);
    const runner2 = db.dataSource.createQueryRunner();
    try {
      await migration.up(runner2);
    } finally {
      await runner2.release();
    }
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('counts postings in the hot tables and in archived months; an entry whose postings left the database keeps NULL', async () => {
    const rows = (await db.dataSource.query(
      `SELECT external_id, posting_count FROM journal_entry WHERE external_id IN ('HOT-3', 'NO-CYCLE-2', 'ARCHIVED-4', 'EXPORTED-5') ORDER BY ledger_seq`,
    )) as Array<{ external_id: string; posting_count: number | null }>;
    expect(rows).toEqual([
      { external_id: 'HOT-3', posting_count: 3 },
      { external_id: 'NO-CYCLE-2', posting_count: 2 },
      { external_id: 'ARCHIVED-4', posting_count: 4 },
      { external_id: 'EXPORTED-5', posting_count: null },
    ]);
  });

  it("a ledger page counts only postings it can read: entries of archived or dropped months list with none and do not use the page's budget", async () => {
    const seq = await seqOf('NO-CYCLE-2');
    const ledger = new LedgerRepository(db.dataSource);
    const page = await ledger.listEntries({ afterSeq: seq, limit: 10, maxPostings: 1 });
    // ARCHIVED-4 states 4 postings, all in the archive schema: counted, they would end the page after it.
    expect(page.map((e) => [e.externalId, e.postings.length, e.pastBudget ?? false])).toEqual([
      ['ARCHIVED-4', 0, false],
      ['EXPORTED-5', 0, false],
    ]);
    const all = await ledger.listEntries({ limit: 10, maxPostings: 4 });
    expect(all.map((e) => [e.externalId, e.postings.length, e.pastBudget ?? false])).toEqual([
      ['HOT-3', 3, false],
      ['NO-CYCLE-2', 0, true],
    ]);
  });

  it("loads back from its export the postings of an entry older than the migration, though the entry has no count; a new entry's still need one", async () => {
    const seq = await seqOf('EXPORTED-5');
    // As docs/partitioning-and-retention.md restores a dropped month: the month again, then its rows into the partition itself.
    await db.dataSource.transaction(async (m) => {
      await m.query(`SELECT partition_ensure_month('2026-04-03T20:00:00Z')`);
      await m.query(
        `INSERT INTO journal_posting_p202604 (entry_seq, line_no, account, amount_centicents, cycle, cycle_key)
         SELECT $1, n, 'klear_settlement', CASE WHEN n = 5 THEN -4 ELSE 1 END, '2026-04-03T20:00:00Z', '2026-04-03T20:00:00Z' FROM generate_series(1, 5) n`,
        [seq],
      );
    });
    const [restored] = await new LedgerRepository(db.dataSource).listEntries({ externalId: 'EXPORTED-5', limit: 2, maxPostings: 200 });
    expect(restored.postings.map((p) => p.amount)).toEqual([1n, 1n, 1n, 1n, -4n]);
    await expect(db.dataSource.transaction((m) => oldEntry(m, 'NEW-NO-COUNT', '2026-06-03T20:00:00.000Z', 2))).rejects.toThrow(
      /NEW-NO-COUNT is not balanced double entry \(2 postings, sum 0, 0 mislabelled, none declared\)/,
    );
  });

  it('leaves journal_entry append-only again after its backfill', async () => {
    await expect(db.dataSource.query(`UPDATE journal_entry SET posting_count = 9 WHERE external_id = 'HOT-3'`)).rejects.toThrow(
      /immutable|refused/,
    );
  });
});
