import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * From a second adversarial review (docs/invariants.md, "Ledger").
 *
 * 1. Making a month whose rows wait in a default partition detaches that default to move them
 *    (partition_ensure_month). PostgreSQL then drops every check still queued on the default's rows
 *    in the calling transaction: an entry of a month without a partition, its check passed (SET
 *    CONSTRAINTS ALL IMMEDIATE), a third posting added, then another month made: the posting's deferred
 *    check never ran and the entry committed unbalanced (older than PostingCheckedOncePerEntry). A
 *    month whose making would detach a default partition holding rows the calling transaction wrote is
 *    now refused: the product makes months before their rows, in their own statements.
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
      DECLARE lo timestamptz; hi timestamptz; t record; strays boolean; ours boolean;
      BEGIN
        IF at IS NOT NULL AND isfinite(at) AND pg_current_xact_id_if_assigned() IS NOT NULL THEN
          lo := date_trunc('month', at, 'UTC');
          hi := (date_trunc('month', at AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
          FOR t IN SELECT * FROM (VALUES ${tables}) v(tab, key) LOOP
            CONTINUE WHEN to_regclass(format('public.%I', t.tab || '_p' || to_char(lo AT TIME ZONE 'UTC', 'YYYYMM'))) IS NOT NULL;
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM public.%I WHERE %I >= $1 AND %I < $2), EXISTS (SELECT 1 FROM public.%I WHERE xmin = pg_current_xact_id()::xid)',
                           t.tab || '_default', t.key, t.key, t.tab || '_default') INTO strays, ours USING lo, hi;
            IF strays AND ours THEN
              RAISE EXCEPTION 'making month % would detach %_default, which holds rows this transaction wrote (the checks queued on them would be lost): months are made before their rows, or in a transaction of their own',
                to_char(lo AT TIME ZONE 'UTC', 'YYYY-MM'), t.tab USING ERRCODE = 'object_in_use';
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
