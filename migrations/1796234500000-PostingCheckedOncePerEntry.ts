import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 18: committing a ledger import ran the full double-entry check once per posting (the deferred
 * `journal_posting_balanced` trigger) on top of once per entry (`journal_entry_balanced`): three
 * aggregates over an entry of two postings (most of a 200,000-posting commit), 202 over a trade
 * settlement of 100 markets, each summing its 201 postings. Each entry
 * is now checked in full once, at its commit, and a posting triggers the full check again only where
 * that check could have missed it. Why nothing is missed:
 *
 * - Every posting is checked as its statement ends (`journal_posting_same_transaction`, set-based over the
 *   statement's rows): its entry was created in this transaction (as before), its line is numbered from
 *   1, and it carries its entry's cycle and subtrader, so it lives in its entry's partition, the one
 *   the entry's check reads.
 * - The entry's check also wants its postings numbered 1 to n (n = posting_count, at least 2). Lines
 *   are unique per entry in that partition (primary key), so once the entry's check has passed, a
 *   posting added to it later in the transaction (after SET CONSTRAINTS ALL IMMEDIATE) can only be
 *   numbered above n >= 2. The deferred per-posting check therefore fires for lines above 2 only, and
 *   asks one thing first: is the line within its entry's count (one key lookup, where it summed every
 *   posting of the entry: a trade settlement of 100 markets has 201)? A line past it is refused
 *   (with the full check's figures when they are wrong too). An entry without a count (older than
 *   EntryPostingCount, its postings loaded back from an export) still gets the full check.
 * - The application role writes through the partitioned table only (it holds no privilege on a
 *   partition, libs/db/src/migrate.ts), so the statement check cannot be skipped by writing a partition
 *   directly. The schema owner still can (restoring an exported month, moving rows out of a default
 *   partition): it is trusted with that, as with every trigger it owns.
 */
export class PostingCheckedOncePerEntry1796234500000 implements MigrationInterface {
  name = 'PostingCheckedOncePerEntry1796234500000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE OR REPLACE FUNCTION journal_posting_refuse_foreign_entry() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE bad record; BEGIN
         SELECT e.external_id, p.line_no, NOT (e.xmin = pg_current_xact_id()::xid) AS foreign_entry INTO bad
           FROM new_postings p JOIN "journal_entry" e ON e.ledger_seq = p.entry_seq
          WHERE NOT (e.xmin = pg_current_xact_id()::xid) OR p.line_no < 1 OR p.cycle IS DISTINCT FROM e.cycle OR p.subtrader_id IS DISTINCT FROM e.subtrader_id
          ORDER BY 3 DESC LIMIT 1;
         IF NOT FOUND THEN RETURN NULL; END IF;
         IF bad.foreign_entry THEN
           RAISE EXCEPTION 'journal_posting: postings may only be added in the transaction that creates their entry' USING ERRCODE = 'insufficient_privilege';
         END IF;
         RAISE EXCEPTION 'journal entry % posting line % refused: postings are numbered from 1 and carry their entry''s cycle and subtrader', bad.external_id, bad.line_no
           USING ERRCODE = 'check_violation';
       END $$`,
    );
    await q.query(
      `CREATE OR REPLACE FUNCTION journal_entry_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE n integer; total numeric; mislabelled integer; lo integer; hi integer; BEGIN
         SELECT count(*), coalesce(sum(amount_centicents), 0), count(*) FILTER (WHERE cycle IS DISTINCT FROM NEW.cycle OR subtrader_id IS DISTINCT FROM NEW.subtrader_id), min(line_no), max(line_no)
           INTO n, total, mislabelled, lo, hi
           FROM "journal_posting" WHERE entry_seq = NEW.ledger_seq AND cycle_key = coalesce(NEW.cycle, '-infinity');
         IF n < 2 OR total <> 0 OR mislabelled > 0 OR NEW.posting_count IS DISTINCT FROM n THEN
           RAISE EXCEPTION 'journal entry % is not balanced double entry (% postings, sum %, % mislabelled, % declared)', NEW.external_id, n, total, mislabelled, coalesce(NEW.posting_count::text, 'none') USING ERRCODE = 'check_violation';
         END IF;
         IF lo <> 1 OR hi <> n THEN
           RAISE EXCEPTION 'journal entry % numbers its % postings % to %, not 1 to %', NEW.external_id, n, lo, hi, n USING ERRCODE = 'check_violation';
         END IF;
         RETURN NULL; END $$`,
    );
    // The ledger's high-water mark when EntryPostingCount ran, written into the posting check then (an
    // entry up to it may have no count: its postings can be loaded back from an export): kept.
    const hwm = await postingCheckHighWaterMark(q);
    await q.query(
      `CREATE OR REPLACE FUNCTION journal_posting_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE n integer; total numeric; mislabelled integer; ext text; declared integer; BEGIN
         SELECT e.posting_count INTO declared FROM "journal_entry" e WHERE e.ledger_seq = NEW.entry_seq;
         IF NEW.line_no <= declared THEN RETURN NULL; END IF;
         SELECT count(*), coalesce(sum(p.amount_centicents), 0), count(*) FILTER (WHERE p.cycle IS DISTINCT FROM e.cycle OR p.subtrader_id IS DISTINCT FROM e.subtrader_id), min(e.external_id), min(e.posting_count)
           INTO n, total, mislabelled, ext, declared
           FROM "journal_posting" p JOIN "journal_entry" e ON e.ledger_seq = p.entry_seq WHERE p.entry_seq = NEW.entry_seq AND p.cycle_key = NEW.cycle_key;
         IF n < 2 OR total <> 0 OR mislabelled > 0 OR (declared IS NULL AND NEW.entry_seq > ${hwm}) OR declared <> n THEN
           RAISE EXCEPTION 'journal entry % is not balanced double entry (% postings, sum %, % mislabelled, % declared)', ext, n, total, mislabelled, coalesce(declared::text, 'none') USING ERRCODE = 'check_violation';
         END IF;
         IF declared IS NOT NULL THEN
           RAISE EXCEPTION 'journal entry % numbers a posting %, past its % postings', ext, NEW.line_no, declared USING ERRCODE = 'check_violation';
         END IF;
         RETURN NULL; END $$`,
    );
    await q.query(`DROP TRIGGER journal_posting_balanced ON "journal_posting"`);
    await q.query(
      `CREATE CONSTRAINT TRIGGER journal_posting_balanced AFTER INSERT ON "journal_posting" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.line_no > 2) EXECUTE FUNCTION journal_posting_check_balanced()`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    const hwm = await postingCheckHighWaterMark(q);
    await q.query(
      `CREATE OR REPLACE FUNCTION journal_posting_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE n integer; total numeric; mislabelled integer; ext text; declared integer; BEGIN SELECT count(*), coalesce(sum(p.amount_centicents), 0), count(*) FILTER (WHERE p.cycle IS DISTINCT FROM e.cycle OR p.subtrader_id IS DISTINCT FROM e.subtrader_id), min(e.external_id), min(e.posting_count) INTO n, total, mislabelled, ext, declared FROM "journal_posting" p JOIN "journal_entry" e ON e.ledger_seq = p.entry_seq WHERE p.entry_seq = NEW.entry_seq AND p.cycle_key = NEW.cycle_key; IF n < 2 OR total <> 0 OR mislabelled > 0 OR (declared IS NULL AND NEW.entry_seq > ${hwm}) OR declared <> n THEN RAISE EXCEPTION 'journal entry % is not balanced double entry (% postings, sum %, % mislabelled, % declared)', ext, n, total, mislabelled, coalesce(declared::text, 'none') USING ERRCODE = 'check_violation'; END IF; RETURN NULL; END $$`,
    );
    await q.query(`DROP TRIGGER journal_posting_balanced ON "journal_posting"`);
    await q.query(
      `CREATE CONSTRAINT TRIGGER journal_posting_balanced AFTER INSERT ON "journal_posting" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_posting_check_balanced()`,
    );
    await q.query(
      `CREATE OR REPLACE FUNCTION journal_entry_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE n integer; total numeric; mislabelled integer; BEGIN SELECT count(*), coalesce(sum(amount_centicents), 0), count(*) FILTER (WHERE cycle IS DISTINCT FROM NEW.cycle OR subtrader_id IS DISTINCT FROM NEW.subtrader_id) INTO n, total, mislabelled FROM "journal_posting" WHERE entry_seq = NEW.ledger_seq AND cycle_key = coalesce(NEW.cycle, '-infinity'); IF n < 2 OR total <> 0 OR mislabelled > 0 OR NEW.posting_count IS DISTINCT FROM n THEN RAISE EXCEPTION 'journal entry % is not balanced double entry (% postings, sum %, % mislabelled, % declared)', NEW.external_id, n, total, mislabelled, coalesce(NEW.posting_count::text, 'none') USING ERRCODE = 'check_violation'; END IF; RETURN NULL; END $$`,
    );
    await q.query(
      `CREATE OR REPLACE FUNCTION journal_posting_refuse_foreign_entry() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF EXISTS (SELECT 1 FROM new_postings p JOIN "journal_entry" e ON e.ledger_seq = p.entry_seq WHERE NOT (e.xmin = pg_current_xact_id()::xid)) THEN RAISE EXCEPTION 'journal_posting: postings may only be added in the transaction that creates their entry' USING ERRCODE = 'insufficient_privilege'; END IF; RETURN NULL; END $$`,
    );
  }
}

/** The high-water mark written into journal_posting_check_balanced() by EntryPostingCount1796234300000. */
async function postingCheckHighWaterMark(q: QueryRunner): Promise<string> {
  const [{ src }] = (await q.query(`SELECT prosrc AS src FROM pg_proc WHERE proname = 'journal_posting_check_balanced'`)) as Array<{
    src: string;
  }>;
  const hwm = /NEW\.entry_seq > (\d+)\)/.exec(src)?.[1];
  if (hwm === undefined)
    throw new Error('journal_posting_check_balanced() does not state the high-water mark EntryPostingCount wrote into it');
  return hwm;
}
