import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * From a second adversarial review (docs/invariants.md, "Ledger").
 *
 * 1. Making a month whose rows wait in a default partition detaches that default to move them
 *    (partition_ensure_month). PostgreSQL then drops every check still queued on the default's rows
 *    in the calling transaction: an entry of a month without a partition, its check passed (SET
 *    CONSTRAINTS ALL IMMEDIATE), a third posting added, then another month made: the posting's deferred
 *    check never ran and the entry committed unbalanced (older than PostingCheckedOncePerEntry). A
 *    month whose rows wait in a default partition is no longer made by a transaction that wrote rows
 *    into that default (a savepoint's rows count: their xmin is in progress and they are visible, which
 *    no other transaction's in-progress row is). The default is locked (SHARE ROW EXCLUSIVE, after the
 *    month's advisory lock) before it is looked at, so no row arrives between the look and the move.
 *    The product makes months before their rows, so its transactions write no default partition; one that meets strays of another's still moves them
 *    (a ledger import's entries are written before the months of its postings are made). (A third
 *    review found that checking only rows of the top-level transaction id missed a savepoint's rows, and
 *    a stray committed by another session between the look and the move; a fourth, that age() measured
 *    from an id cached before this transaction had one, and failed on rows 2^31 ids old, and that SHARE
 *    let two transactions making months deadlock.)
 * 2. The archive wrapper of FunctionsResolveOwnTables was executable by PUBLIC (a new function is):
 *    revoked, as CyclePartitions revoked it from the function it wraps.
 */
const TABLES: ReadonlyArray<[string, string]> = [
  ['klear_settlement_detail', 'cycle'],
  ['klear_margin_detail', 'cycle'],
  ['journal_posting', 'cycle_key'],
  ['recon_break_observation', 'cycle_key'],
  ['klear_response_archive', 'received_at'],
];

export class MonthsMadeBeforeTheirRows1796234700000 implements MigrationInterface {
  name = 'MonthsMadeBeforeTheirRows1796234700000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`REVOKE ALL ON FUNCTION partition_archive_month(timestamptz) FROM PUBLIC`);
    await q.query(`ALTER FUNCTION partition_ensure_month(timestamptz) SET SCHEMA archive`);
    await q.query(`ALTER FUNCTION archive.partition_ensure_month(timestamptz) RENAME TO ensure_month_create`);
    await q.query(`REVOKE ALL ON FUNCTION archive.ensure_month_create(timestamptz) FROM PUBLIC`);
    const tables = TABLES.map(([t, k]) => `('${t}', '${k}')`).join(', ');
    await q.query(`CREATE FUNCTION partition_ensure_month(at timestamptz) RETURNS integer
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
      DECLARE lo timestamptz; hi timestamptz; t record; part text; strays boolean; ours boolean; r record; cur bigint; row_xid bigint;
      BEGIN
        -- A transaction without an id has written nothing, so nothing of it is queued anywhere.
        IF at IS NOT NULL AND isfinite(at) AND pg_current_xact_id_if_assigned() IS NOT NULL THEN
          lo := date_trunc('month', at, 'UTC');
          hi := (date_trunc('month', at AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
          FOR t IN SELECT * FROM (VALUES ${tables}) v(tab, key) LOOP
            part := t.tab || '_p' || to_char(lo AT TIME ZONE 'UTC', 'YYYYMM');
            CONTINUE WHEN to_regclass(format('public.%I', part)) IS NOT NULL;
            -- The month's lock first, as the function that makes it takes it (a session making the same
            -- month waits here, not in a lock cycle); then the default, so that no row arrives between
            -- the look and the move. SHARE ROW EXCLUSIVE conflicts with itself: two transactions making
            -- months one after the other, where SHARE let both hold it and then deadlock on the move's
            -- ACCESS EXCLUSIVE. A healthy database writes no default partition: nobody else waits.
            PERFORM pg_advisory_xact_lock(hashtextextended('partition:' || part, 0));
            EXECUTE format('LOCK TABLE public.%I IN SHARE ROW EXCLUSIVE MODE', t.tab || '_default');
            CONTINUE WHEN to_regclass(format('public.%I', part)) IS NOT NULL;
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM public.%I WHERE %I >= $1 AND %I < $2)', t.tab || '_default', t.key, t.key)
              INTO strays USING lo, hi;
            CONTINUE WHEN NOT strays;
            -- A row of this transaction, a savepoint's included: visible, its xmin in progress (another
            -- transaction's row in progress is not visible). Its 64-bit id: this transaction's epoch and
            -- the row's xmin (the next epoch when the xmin is below this transaction's: a savepoint's ids
            -- come after it). An older row's xmin, taken for the next epoch, is an id not assigned yet:
            -- pg_xact_status refuses it and the row is not ours; another transaction's later row reads as
            -- committed. A healthy default partition has no rows to look at.
            ours := false;
            cur := pg_current_xact_id()::text::bigint;
            FOR r IN EXECUTE format('SELECT xmin::text::bigint AS x FROM public.%I', t.tab || '_default') LOOP
              row_xid := (cur >> 32 << 32) + r.x + CASE WHEN r.x < (cur & 4294967295) THEN 4294967296 ELSE 0 END;
              BEGIN
                ours := pg_xact_status(row_xid::text::xid8) = 'in progress';
              EXCEPTION WHEN invalid_parameter_value THEN ours := false;
              END;
              EXIT WHEN ours;
            END LOOP;
            IF ours THEN
              RAISE EXCEPTION 'making month % would move rows out of %_default by detaching it, which drops the checks queued on the rows this transaction wrote there: make the month before writing its rows, or in a transaction of its own (npm run cli -- partitions:ensure --month %)',
                to_char(lo AT TIME ZONE 'UTC', 'YYYY-MM'), t.tab, to_char(lo AT TIME ZONE 'UTC', 'YYYY-MM') USING ERRCODE = 'object_in_use';
            END IF;
          END LOOP;
        END IF;
        RETURN archive.ensure_month_create(at);
      END $fn$`);
    await q.query(`REVOKE ALL ON FUNCTION partition_ensure_month(timestamptz) FROM PUBLIC`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION partition_ensure_month(timestamptz)`);
    await q.query(`ALTER FUNCTION archive.ensure_month_create(timestamptz) RENAME TO partition_ensure_month`);
    await q.query(`ALTER FUNCTION archive.partition_ensure_month(timestamptz) SET SCHEMA public`);
  }
}
