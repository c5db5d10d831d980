import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 18: a page of GET /ledger/entries is bounded by postings (200), so it had to read postings to
 * find where the budget ends (201 read, 51 entries looked up, for a page of one trade settlement). Each
 * entry now states how many postings it has: the page is chosen from journal_entry alone and only the
 * postings it answers are read.
 *
 * The count is checked, never trusted: the deferred double-entry checks refuse an entry whose postings do
 * not number its posting_count, at its commit and whenever a posting is added to it later. Existing
 * entries are counted from their postings, in the hot tables and in months retention moved to the
 * `archive` schema; an entry whose postings were exported and dropped keeps NULL (not known here). Such
 * an entry's postings can still be loaded back from their export (docs/partitioning-and-retention.md):
 * the posting check lets an entry without a count through only when it is older than this migration
 * (its ledger_seq at most the ledger's high-water mark when it ran, written into the check), and the
 * entry check, which every new entry passes, always wants a count.
 *
 * Cost: the backfill rewrites every journal_entry row once, in the migration's transaction, holding the
 * table's exclusive lock: the ledger takes no writes or reads until it commits (its time grows with the
 * ledger's size; journal_entry grows about 8 MB a day in the growth bench's world of 20,000 entries a day).
 */
export class EntryPostingCount1796234300000 implements MigrationInterface {
  name = 'EntryPostingCount1796234300000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "journal_entry" ADD "posting_count" integer`);
    await q.query(`ALTER TABLE "journal_entry" ADD CONSTRAINT "CHK_journal_entry_posting_count" CHECK ("posting_count" >= 2)`);
    // journal_entry refuses UPDATE (append-only): the backfill is the one writer allowed, inside this migration's transaction.
    await q.query(`ALTER TABLE "journal_entry" DISABLE TRIGGER "journal_entry_no_update_delete"`);
    await q.query(
      `UPDATE "journal_entry" e SET "posting_count" = c.n
         FROM (SELECT entry_seq, count(*)::int AS n FROM "journal_posting" GROUP BY entry_seq) c WHERE c.entry_seq = e.ledger_seq`,
    );
    await q.query(`DO $$ DECLARE r record; BEGIN
      FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
                WHERE ns.nspname = 'archive' AND c.relkind = 'r' AND c.relname ~ '^journal_posting_p[0-9]{6}$' LOOP
        EXECUTE format('UPDATE journal_entry e SET posting_count = c.n FROM (SELECT entry_seq, count(*)::int AS n FROM archive.%I GROUP BY entry_seq) c
                         WHERE c.entry_seq = e.ledger_seq AND e.posting_count IS NULL', r.relname);
      END LOOP; END $$`);
    await q.query(`ALTER TABLE "journal_entry" ENABLE TRIGGER "journal_entry_no_update_delete"`);
    const [{ hwm }] = (await q.query(`SELECT coalesce(max(ledger_seq), 0)::text AS hwm FROM "journal_entry"`)) as Array<{ hwm: string }>;
    if (!/^\d+$/.test(hwm)) throw new Error(`unexpected ledger high-water mark ${hwm}`);
    await q.query(
      `CREATE OR REPLACE FUNCTION journal_entry_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE n integer; total numeric; mislabelled integer; BEGIN SELECT count(*), coalesce(sum(amount_centicents), 0), count(*) FILTER (WHERE cycle IS DISTINCT FROM NEW.cycle OR subtrader_id IS DISTINCT FROM NEW.subtrader_id) INTO n, total, mislabelled FROM "journal_posting" WHERE entry_seq = NEW.ledger_seq AND cycle_key = coalesce(NEW.cycle, '-infinity'); IF n < 2 OR total <> 0 OR mislabelled > 0 OR NEW.posting_count IS DISTINCT FROM n THEN RAISE EXCEPTION 'journal entry % is not balanced double entry (% postings, sum %, % mislabelled, % declared)', NEW.external_id, n, total, mislabelled, coalesce(NEW.posting_count::text, 'none') USING ERRCODE = 'check_violation'; END IF; RETURN NULL; END $$`,
    );
    await q.query(
      `CREATE OR REPLACE FUNCTION journal_posting_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE n integer; total numeric; mislabelled integer; ext text; declared integer; BEGIN SELECT count(*), coalesce(sum(p.amount_centicents), 0), count(*) FILTER (WHERE p.cycle IS DISTINCT FROM e.cycle OR p.subtrader_id IS DISTINCT FROM e.subtrader_id), min(e.external_id), min(e.posting_count) INTO n, total, mislabelled, ext, declared FROM "journal_posting" p JOIN "journal_entry" e ON e.ledger_seq = p.entry_seq WHERE p.entry_seq = NEW.entry_seq AND p.cycle_key = NEW.cycle_key; IF n < 2 OR total <> 0 OR mislabelled > 0 OR (declared IS NULL AND NEW.entry_seq > ${hwm}) OR declared <> n THEN RAISE EXCEPTION 'journal entry % is not balanced double entry (% postings, sum %, % mislabelled, % declared)', ext, n, total, mislabelled, coalesce(declared::text, 'none') USING ERRCODE = 'check_violation'; END IF; RETURN NULL; END $$`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE OR REPLACE FUNCTION journal_entry_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE n integer; total numeric; mislabelled integer; BEGIN SELECT count(*), coalesce(sum(amount_centicents), 0), count(*) FILTER (WHERE cycle IS DISTINCT FROM NEW.cycle OR subtrader_id IS DISTINCT FROM NEW.subtrader_id) INTO n, total, mislabelled FROM "journal_posting" WHERE entry_seq = NEW.ledger_seq AND cycle_key = coalesce(NEW.cycle, '-infinity'); IF n < 2 OR total <> 0 OR mislabelled > 0 THEN RAISE EXCEPTION 'journal entry % is not balanced double entry (% postings, sum %, % mislabelled)', NEW.external_id, n, total, mislabelled USING ERRCODE = 'check_violation'; END IF; RETURN NULL; END $$`,
    );
    await q.query(
      `CREATE OR REPLACE FUNCTION journal_posting_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE n integer; total numeric; mislabelled integer; ext text; BEGIN SELECT count(*), coalesce(sum(p.amount_centicents), 0), count(*) FILTER (WHERE p.cycle IS DISTINCT FROM e.cycle OR p.subtrader_id IS DISTINCT FROM e.subtrader_id), min(e.external_id) INTO n, total, mislabelled, ext FROM "journal_posting" p JOIN "journal_entry" e ON e.ledger_seq = p.entry_seq WHERE p.entry_seq = NEW.entry_seq AND p.cycle_key = NEW.cycle_key; IF n < 2 OR total <> 0 OR mislabelled > 0 THEN RAISE EXCEPTION 'journal entry % is not balanced double entry (% postings, sum %, % mislabelled)', ext, n, total, mislabelled USING ERRCODE = 'check_violation'; END IF; RETURN NULL; END $$`,
    );
    await q.query(`ALTER TABLE "journal_entry" DROP CONSTRAINT "CHK_journal_entry_posting_count"`);
    await q.query(`ALTER TABLE "journal_entry" DROP COLUMN "posting_count"`);
  }
}
