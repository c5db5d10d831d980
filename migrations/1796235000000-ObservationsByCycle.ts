import type { MigrationInterface, QueryRunner } from 'typeorm';
import { editFunction } from './function-edits';

/**
 * Break observations filed by cycle (issue 18; docs/partitioning-and-retention.md). A month of
 * `recon_break_observation` made from now on is itself partitioned by `cycle_key`, one partition a UTC
 * day (`recon_break_observation_pYYYYMMDD`; a cycle is one instant, so a day holds its cycles' runs):
 * a run's page of breaks reads the index of its own cycle, whatever the month holds, where a month's
 * index grew a level in its first week. Every read of observations names the cycle (the run's or the
 * break's: a break belongs to one scope, so to one cycle), so none probes the month's other days. The
 * months made before stay one table each (nothing is moved).
 *
 * Each observation is filed under its break's cycle, as the reads assume: refused otherwise (a statement
 * trigger), and a break's cycle never changes.
 *
 * Retention keeps treating a month as one table: its days go to the `archive` schema with it (read-only
 * there, TRUNCATE refused on each), come back with it on restore, are exported with it (`COPY (SELECT
 * ...)`: COPY does not read a partitioned table) and dropped with it.
 */
const TABLE = 'recon_break_observation';

const CREATE_MONTH = `EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', part, t.tab, lo, hi);`;
const ENSURE: [string, string, number] = [CREATE_MONTH, 'PERFORM archive.month_partition_create(t.tab, part, lo, hi);', 2];
const DETACH: [string, string] = [
  `EXECUTE format('ALTER TABLE %I SET SCHEMA archive', part);`,
  `EXECUTE format('ALTER TABLE %I SET SCHEMA archive', part);\n          PERFORM archive.month_leaves_move(part, 'archive');`,
];
const RESTORE: [string, string] = [
  `EXECUTE format('ALTER TABLE archive.%I SET SCHEMA public', part);`,
  `EXECUTE format('ALTER TABLE archive.%I SET SCHEMA public', part);\n          PERFORM archive.month_leaves_move(part, 'public');`,
];
// A month filed by day is one archived table (kind 'p'); its days go with it.
const DROP: [string, string] = [`c.relkind = 'r' AND`, `c.relkind IN ('r', 'p') AND NOT c.relispartition AND`];

const reverse = (edits: Array<[string, string, number?]>): Array<[string, string, number?]> => edits.map(([a, b, n]) => [b, a, n]);

export class ObservationsByCycle1796235000000 implements MigrationInterface {
  name = 'ObservationsByCycle1796235000000';

  public async up(q: QueryRunner): Promise<void> {
    // Makes one month partition of `tab`; the observations' month is partitioned by day, each day made.
    // Days are UTC days whatever the session's time zone (adding '1 day' to a timestamptz follows it).
    await q.query(`CREATE FUNCTION archive.month_partition_create(tab text, part text, lo timestamptz, hi timestamptz) RETURNS void
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
      DECLARE d timestamptz := lo; nd timestamptz; leaf text; ix record; n integer;
      BEGIN
        IF tab <> '${TABLE}' THEN
          EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', part, tab, lo, hi);
          RETURN;
        END IF;
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L) PARTITION BY RANGE (cycle_key)', part, tab, lo, hi);
        WHILE d < hi LOOP
          nd := ((d AT TIME ZONE 'UTC') + interval '1 day') AT TIME ZONE 'UTC';
          leaf := part || to_char(d AT TIME ZONE 'UTC', 'DD');
          EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', leaf, part, d, nd);
          -- An index name PostgreSQL made longer than 63 bytes is cut to a prefix every month shares: one
          -- made unique in public could meet another month's in the archive schema. Named after the day.
          n := 0;
          FOR ix IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                                     JOIN pg_inherits h ON h.inhrelid = i.indexrelid JOIN pg_class pc ON pc.oid = h.inhparent
                     WHERE i.indrelid = format('public.%I', leaf)::regclass ORDER BY pc.relname LOOP
            n := n + 1;
            CONTINUE WHEN left(ix.relname, length(leaf) + 1) = leaf || '_';
            EXECUTE format('ALTER INDEX %I RENAME TO %I', ix.relname, leaf || '_idx' || n);
          END LOOP;
          d := nd;
        END LOOP;
      END $fn$`);
    // Moves the partitions of month partition \`part\` (already in schema \`dest\`) after it: into the
    // archive (TRUNCATE refused on each: the parent's trigger does not fire for a partition) or back.
    // The parent's row trigger reaches them by itself (a trigger of a partitioned table is cloned).
    await q.query(`CREATE FUNCTION archive.month_leaves_move(part text, dest text) RETURNS void
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
      DECLARE leaf record;
      BEGIN
        FOR leaf IN SELECT n.nspname AS ns, c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE i.inhparent = to_regclass(format('%I.%I', dest, part)) ORDER BY c.relname LOOP
          IF dest = 'public' THEN
            EXECUTE format('DROP TRIGGER IF EXISTS archived_no_truncate ON %I.%I', leaf.ns, leaf.relname);
          END IF;
          EXECUTE format('ALTER TABLE %I.%I SET SCHEMA %I', leaf.ns, leaf.relname, dest);
          IF dest = 'archive' THEN
            EXECUTE format('CREATE TRIGGER archived_no_truncate BEFORE TRUNCATE ON archive.%I FOR EACH STATEMENT EXECUTE FUNCTION archive.refuse_change()', leaf.relname);
          END IF;
        END LOOP;
      END $fn$`);
    await q.query(`REVOKE ALL ON FUNCTION archive.month_partition_create(text, text, timestamptz, timestamptz) FROM PUBLIC`);
    await q.query(`REVOKE ALL ON FUNCTION archive.month_leaves_move(text, text) FROM PUBLIC`);
    await editFunction(q, 'archive.ensure_month_create(timestamptz)', [ENSURE]);
    await editFunction(q, 'archive.archive_month_detach(timestamptz)', [DETACH]);
    // The reads name the break's cycle to find its observations: an observation filed under another cycle
    // would be missing from its break's detail and sources without an error. Refused as it is written, and
    // a break's cycle never changes (it is part of its scope).
    await q.query(`CREATE FUNCTION ${TABLE}_cycle_check() RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $fn$
      BEGIN
        IF EXISTS (SELECT 1 FROM new_rows n JOIN public.recon_break b ON b.id = n.break_id WHERE n.cycle_key <> coalesce(b.cycle, '-infinity')) THEN
          RAISE EXCEPTION '${TABLE}: an observation filed under another cycle than its break''s (each read of a break''s observations names its cycle)'
            USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
      END $fn$`);
    for (const event of ['INSERT', 'UPDATE'])
      await q.query(
        `CREATE TRIGGER ${TABLE}_cycle_check_${event.toLowerCase()} AFTER ${event} ON ${TABLE} REFERENCING NEW TABLE AS new_rows
           FOR EACH STATEMENT EXECUTE FUNCTION ${TABLE}_cycle_check()`,
      );
    await q.query(`CREATE FUNCTION recon_break_cycle_fixed() RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $fn$
      BEGIN
        RAISE EXCEPTION 'recon_break %: its cycle is part of its scope and never changes (its observations are filed under it)', OLD.id
          USING ERRCODE = 'check_violation';
      END $fn$`);
    await q.query(`CREATE TRIGGER recon_break_cycle_fixed BEFORE UPDATE OF cycle ON recon_break FOR EACH ROW
      WHEN (OLD.cycle IS DISTINCT FROM NEW.cycle) EXECUTE FUNCTION recon_break_cycle_fixed()`);
    await editFunction(q, 'partition_restore_month(timestamptz)', [RESTORE]);
    await editFunction(q, 'partition_drop_archived(timestamptz)', [DROP]);
  }

  /**
   * Refused while a month filed by day exists: the functions it restores would archive such a month
   * without its days, and never drop it. Archive and drop (or restore to plain tables) those months first.
   */
  public async down(q: QueryRunner): Promise<void> {
    const [{ n }] = (await q.query(
      `SELECT count(*)::int AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent IN ('public.${TABLE}'::regclass) AND c.relkind = 'p'`,
    )) as Array<{ n: number }>;
    if (n > 0) throw new Error(`ObservationsByCycle: ${n} month(s) of ${TABLE} are filed by day; down() would strand their days`);
    await editFunction(q, 'partition_drop_archived(timestamptz)', reverse([DROP]));
    await editFunction(q, 'partition_restore_month(timestamptz)', reverse([RESTORE]));
    await editFunction(q, 'archive.archive_month_detach(timestamptz)', reverse([DETACH]));
    await editFunction(q, 'archive.ensure_month_create(timestamptz)', reverse([ENSURE]));
    await q.query(`DROP TRIGGER recon_break_cycle_fixed ON recon_break`);
    await q.query(`DROP FUNCTION recon_break_cycle_fixed()`);
    for (const event of ['insert', 'update']) await q.query(`DROP TRIGGER ${TABLE}_cycle_check_${event} ON ${TABLE}`);
    await q.query(`DROP FUNCTION ${TABLE}_cycle_check()`);
    await q.query(`DROP FUNCTION archive.month_leaves_move(text, text)`);
    await q.query(`DROP FUNCTION archive.month_partition_create(text, text, timestamptz, timestamptz)`);
  }
}
