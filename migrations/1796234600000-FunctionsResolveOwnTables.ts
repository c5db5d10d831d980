import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two holes an adversarial review of PostingCheckedOncePerEntry found (docs/invariants.md, "Ledger").
 *
 * 1. A session's temporary tables came first. A function without its own search_path resolves an
 *    unqualified table name in the caller's temporary schema before `public`, and so did the SECURITY
 *    DEFINER ones (`SET search_path FROM CURRENT` kept the migration's path, which does not name
 *    `pg_temp`, so it is searched first). A role allowed temporary tables (the application role is:
 *    reconciliation uses them) could create `journal_posting` or `journal_entry` as a temporary table
 *    and have the ledger's checks read it instead: an unbalanced entry committed, a posting joined an
 *    entry committed earlier. Every function of the schema now has `search_path = public, pg_temp`:
 *    `pg_catalog` (searched first when not named), then `public` (where it creates tables), then the
 *    temporary schema last, as PostgreSQL's documentation prescribes for SECURITY DEFINER functions.
 * 2. Archiving a month detached postings the calling transaction had just written. The application
 *    role runs retention through SECURITY DEFINER functions; in the transaction of an entry whose check
 *    had passed (SET CONSTRAINTS ALL IMMEDIATE), detaching its month freed its lines 1 and 2, which the
 *    per-posting check no longer looks at, and an unbalanced pair could take them. A month holding
 *    journal entries the calling transaction wrote is now refused (retention runs in transactions of
 *    its own and never meets this).
 */
const SEARCH_PATH = 'public, pg_temp';
/**
 * SQL functions PostgreSQL inlines into their caller (IMMUTABLE or STABLE, not SECURITY DEFINER) keep
 * none: inlined, they resolve names with their caller's path, and a path of their own would stop the
 * inlining (the fingerprint of every trading posting, computed per row by the summary trigger, took
 * 2.8 s instead of about 0.1 s for 100,500 postings).
 */
const INLINED = `(p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'sql') AND p.provolatile <> 'v' AND NOT p.prosecdef)`;

export class FunctionsResolveOwnTables1796234600000 implements MigrationInterface {
  name = 'FunctionsResolveOwnTables1796234600000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER FUNCTION partition_archive_month(timestamptz) SET SCHEMA archive`);
    await q.query(`ALTER FUNCTION archive.partition_archive_month(timestamptz) RENAME TO archive_month_detach`);
    await q.query(`CREATE FUNCTION partition_archive_month(month timestamptz) RETURNS TABLE (table_name text, archived_as text, row_count bigint)
      LANGUAGE plpgsql SECURITY DEFINER AS $fn$
      DECLARE
        lo timestamptz := date_trunc('month', month, 'UTC');
        hi timestamptz := (date_trunc('month', month AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
      BEGIN
        IF EXISTS (SELECT 1 FROM journal_entry e WHERE e.cycle >= lo AND e.cycle < hi AND e.xmin = pg_current_xact_id()::xid) THEN
          RAISE EXCEPTION 'month % holds journal entries written by this transaction: it is archived in a transaction of its own', to_char(lo AT TIME ZONE 'UTC', 'YYYY-MM')
            USING ERRCODE = 'object_in_use';
        END IF;
        RETURN QUERY SELECT * FROM archive.archive_month_detach(month);
      END $fn$`);
    // The detaching function is reached through the one above only: the application role has no usage of the archive schema.
    await q.query(`REVOKE EXECUTE ON FUNCTION archive.archive_month_detach(timestamptz) FROM PUBLIC`);
    await q.query(`DO $$ DECLARE f record; BEGIN
      FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname IN ('public', 'archive') AND p.prokind = 'f' AND NOT ${INLINED}
                  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e') LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = ${SEARCH_PATH}', f.sig);
      END LOOP; END $$`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION partition_archive_month(timestamptz)`);
    await q.query(`ALTER FUNCTION archive.archive_month_detach(timestamptz) RENAME TO partition_archive_month`);
    await q.query(`ALTER FUNCTION archive.partition_archive_month(timestamptz) SET SCHEMA public`);
    await q.query(`REVOKE ALL ON FUNCTION partition_archive_month(timestamptz) FROM PUBLIC`);
    // The functions that had no search_path of their own get none again; the SECURITY DEFINER ones keep the fixed one.
    await q.query(`DO $$ DECLARE f record; BEGIN
      FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname IN ('public', 'archive') AND p.prokind = 'f' AND NOT p.prosecdef AND NOT ${INLINED}
                  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e') LOOP
        EXECUTE format('ALTER FUNCTION %s RESET search_path', f.sig);
      END LOOP; END $$`);
  }
}
