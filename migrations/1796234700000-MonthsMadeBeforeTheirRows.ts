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
 *    no other transaction's in-progress row is). The default is locked (SHARE) before it is looked at,
 *    so no row arrives between the look and the move. The product makes months before their rows, so
 *    its transactions write no default partition; one that meets strays of another's still moves them
 *    (a ledger import's entries are written before the months of its postings are made). (A third
 *    review found that checking only rows of the top-level transaction id missed a savepoint's rows, and
 *    a stray committed by another session between the look and the move.)
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
    // A row of this transaction, a savepoint's included: visible, and its xmin in progress (rows of
    // other transactions still in progress are not visible). xid8 of the row's xmin: this transaction's
    // id less the row's age (negative for a savepoint's, whose ids come after it).
    const ours = `pg_xact_status((pg_current_xact_id()::text::bigint - age(xmin))::text::xid8) = 'in progress'`;
    await q.query(`CREATE FUNCTION partition_ensure_month(at timestamptz) RETURNS integer
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
      DECLARE lo timestamptz; hi timestamptz; t record; strays boolean; ours boolean;
      BEGIN
        -- A transaction without an id has written nothing, so nothing of it is queued anywhere.
        IF at IS NOT NULL AND isfinite(at) AND pg_current_xact_id_if_assigned() IS NOT NULL THEN
          lo := date_trunc('month', at, 'UTC');
          hi := (date_trunc('month', at AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
          FOR t IN SELECT * FROM (VALUES ${tables}) v(tab, key) LOOP
            CONTINUE WHEN to_regclass(format('public.%I', t.tab || '_p' || to_char(lo AT TIME ZONE 'UTC', 'YYYYMM'))) IS NOT NULL;
            -- No row may arrive between this look and the move (a healthy database writes no default
            -- partition, so the lock, held to the end of the transaction, waits for nobody).
            EXECUTE format('LOCK TABLE public.%I IN SHARE MODE', t.tab || '_default');
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM public.%I WHERE %I >= $1 AND %I < $2), EXISTS (SELECT 1 FROM public.%I WHERE ${ours.replace(/'/g, "''")})',
                           t.tab || '_default', t.key, t.key, t.tab || '_default') INTO strays, ours USING lo, hi;
            IF strays AND ours THEN
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
