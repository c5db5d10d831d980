import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The tables that grow with every cycle, partitioned by month of their cycle (issue 18,
 * docs/partitioning-and-retention.md):
 *
 * | table                   | partition key | what it is                                                   |
 * |-------------------------|---------------|--------------------------------------------------------------|
 * | klear_settlement_detail | cycle         | new column: the obligation's execution_time                  |
 * | klear_margin_detail     | cycle         | new column: the obligation's execution_time                  |
 * | journal_posting         | cycle_key     | new column: coalesce(cycle, '-infinity') (a CHECK holds it)  |
 * | recon_break_observation | cycle_key     | new column: the run's cycle, '-infinity' for runs without one |
 * | klear_response_archive  | received_at   | when the answer was received                                 |
 *
 * One partition per calendar month (UTC) named `<table>_pYYYYMM`; `<table>_no_cycle` holds the
 * '-infinity' rows (postings of buffer movements, observations of cycle-less runs); `<table>_default`
 * is the safety net that partition_ensure_month() empties into the month it creates, and
 * partition_default_rows() reports. Primary keys carry the partition key; triggers (summaries,
 * append-only, double entry) are recreated on the partitioned tables, so they fire for every partition.
 */
export const PARTITIONED_TABLES: ReadonlyArray<{ table: string; key: string; noCycle: boolean; appendOnly: boolean }> = [
  { table: 'klear_settlement_detail', key: 'cycle', noCycle: false, appendOnly: false },
  { table: 'klear_margin_detail', key: 'cycle', noCycle: false, appendOnly: false },
  { table: 'journal_posting', key: 'cycle_key', noCycle: true, appendOnly: true },
  { table: 'recon_break_observation', key: 'cycle_key', noCycle: true, appendOnly: false },
  { table: 'klear_response_archive', key: 'received_at', noCycle: false, appendOnly: true },
];

/** The ledger's per-(cycle, ...) summaries: a month's rows leave and come back with its postings. */
const LEDGER_SUMMARIES = `ARRAY['ledger_trading_summary', 'ledger_funding_summary']`;

const TABLE_LIST = PARTITIONED_TABLES.map((t) => `('${t.table}', '${t.key}', ${t.appendOnly})`).join(', ');

export class CyclePartitions1796232000000 implements MigrationInterface {
  name = 'CyclePartitions1796232000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`LOCK TABLE klear_obligation, klear_settlement_detail, klear_margin_detail, journal_entry, journal_posting, recon_run,
                   recon_break_observation, klear_response_archive IN SHARE MODE`);

    // Creates the month of `at` for every partitioned table (a no-op when it exists). Rows that landed
    // in a default partition for that month are moved into it. SECURITY DEFINER: the application role
    // owns nothing and cannot create tables; this is the only DDL it may cause.
    await q.query(`CREATE FUNCTION partition_ensure_month(at timestamptz) RETURNS integer
      LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
      DECLARE
        lo timestamptz; hi timestamptz; part text; dflt text; created integer := 0; strays bigint; t record;
      BEGIN
        IF at IS NULL OR NOT isfinite(at) THEN RETURN 0; END IF;
        lo := date_trunc('month', at, 'UTC');
        hi := (date_trunc('month', at AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
        FOR t IN SELECT * FROM (VALUES ${TABLE_LIST}) v(tab, key, append_only) LOOP
          part := t.tab || '_p' || to_char(lo AT TIME ZONE 'UTC', 'YYYYMM');
          CONTINUE WHEN to_regclass(part) IS NOT NULL;
          -- Two sessions creating the same month: the second waits, then finds it.
          PERFORM pg_advisory_xact_lock(hashtextextended('partition:' || part, 0));
          CONTINUE WHEN to_regclass(part) IS NOT NULL;
          dflt := t.tab || '_default';
          EXECUTE format('SELECT count(*) FROM %I WHERE %I >= $1 AND %I < $2', dflt, t.key, t.key) INTO strays USING lo, hi;
          IF strays = 0 THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', part, t.tab, lo, hi);
          ELSE
            -- The safety net caught rows of this month: detach it (its cloned triggers go with the
            -- detach), file the rows in the new month directly (no summary moves: they are the same
            -- rows), attach it back.
            EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', t.tab, dflt);
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', part, t.tab, lo, hi);
            EXECUTE format('WITH moved AS (DELETE FROM %I WHERE %I >= $1 AND %I < $2 RETURNING *) INSERT INTO %I SELECT * FROM moved', dflt, t.key, t.key, part) USING lo, hi;
            EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I DEFAULT', t.tab, dflt);
            RAISE WARNING 'partition %: % row(s) moved out of %', part, strays, dflt;
          END IF;
          IF t.append_only THEN
            -- TRUNCATE of one partition does not fire the parent's statement trigger: refuse it here too.
            EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION partition_refuse_truncate()', part || '_no_truncate', part);
          END IF;
          created := created + 1;
        END LOOP;
        RETURN created;
      END $fn$`);
    await q.query(`CREATE FUNCTION partition_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $fn$`);
    // Rows in the safety-net partitions (none in a healthy database): partitions:check and /health/details report them.
    await q.query(`CREATE FUNCTION partition_default_rows() RETURNS TABLE (table_name text, row_count bigint, first_key timestamptz, last_key timestamptz)
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
      DECLARE t record;
      BEGIN
        FOR t IN SELECT * FROM (VALUES ${TABLE_LIST}) v(tab, key, append_only) LOOP
          table_name := t.tab;
          EXECUTE format('SELECT count(*), min(%I), max(%I) FROM %I', t.key, t.key, t.tab || '_default') INTO row_count, first_key, last_key;
          RETURN NEXT;
        END LOOP;
      END $fn$`);

    // What each table carries besides its primary key, read from the catalogue (so a trigger or index
    // another migration added is carried over too), replayed on the partitioned table once its rows are in.
    const carried: string[] = [];
    const triggersToReplay: string[] = [];
    for (const t of PARTITIONED_TABLES) {
      const indexes = (await q.query(
        `SELECT pg_get_indexdef(i.indexrelid) AS def FROM pg_index i WHERE i.indrelid = $1::regclass AND NOT i.indisprimary ORDER BY i.indexrelid`,
        [t.table],
      )) as Array<{ def: string }>;
      const foreign = (await q.query(
        `SELECT format('ALTER TABLE %I ADD CONSTRAINT %I %s', $1::text, conname, pg_get_constraintdef(oid)) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'f' ORDER BY conname`,
        [t.table],
      )) as Array<{ def: string }>;
      const triggers = (await q.query(
        `SELECT pg_get_triggerdef(oid) AS def FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal ORDER BY tgname`,
        [t.table],
      )) as Array<{ def: string }>;
      for (const d of [...indexes, ...foreign])
        if (/^CREATE UNIQUE/.test(d.def))
          throw new Error(`${t.table}: a unique index besides the primary key must include the partition key: ${d.def}`);
      carried.push(...[...indexes, ...foreign].map((d) => d.def));
      triggersToReplay.push(...triggers.map((d) => d.def));
    }
    for (const t of PARTITIONED_TABLES) await q.query(`ALTER TABLE "${t.table}" RENAME TO "${t.table}_unpartitioned"`);
    await this.recreateWithKeys(q, carried, triggersToReplay);
  }

  /** The partitioned tables: the old columns (LIKE), the key column, the partitions, the rows, keys, indexes and triggers. */
  private async recreateWithKeys(q: QueryRunner, carried: string[], triggers: string[]): Promise<void> {
    const like = (table: string) => `LIKE "${table}_unpartitioned" INCLUDING DEFAULTS`;
    await q.query(
      `CREATE TABLE "klear_settlement_detail" (${like('klear_settlement_detail')}, "cycle" TIMESTAMP WITH TIME ZONE NOT NULL) PARTITION BY RANGE ("cycle")`,
    );
    await q.query(
      `CREATE TABLE "klear_margin_detail" (${like('klear_margin_detail')}, "cycle" TIMESTAMP WITH TIME ZONE NOT NULL) PARTITION BY RANGE ("cycle")`,
    );
    await q.query(`CREATE TABLE "journal_posting" (${like('journal_posting')}, "cycle_key" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT '-infinity',
                     CONSTRAINT "journal_posting_cycle_key" CHECK ("cycle_key" = coalesce("cycle", '-infinity'))) PARTITION BY RANGE ("cycle_key")`);
    await q.query(
      `CREATE TABLE "recon_break_observation" (${like('recon_break_observation')}, "cycle_key" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT '-infinity') PARTITION BY RANGE ("cycle_key")`,
    );
    await q.query(`CREATE TABLE "klear_response_archive" (${like('klear_response_archive')}) PARTITION BY RANGE ("received_at")`);
    await q.query(`ALTER SEQUENCE "klear_response_archive_id_seq" OWNED BY "klear_response_archive"."id"`);

    for (const t of PARTITIONED_TABLES) {
      await q.query(`CREATE TABLE "${t.table}_default" PARTITION OF "${t.table}" DEFAULT`);
      if (t.noCycle)
        await q.query(
          `CREATE TABLE "${t.table}_no_cycle" PARTITION OF "${t.table}" FOR VALUES FROM ('-infinity') TO ('1900-01-01 00:00:00+00')`,
        );
    }
    for (const t of PARTITIONED_TABLES.filter((x) => x.appendOnly)) {
      for (const p of [`${t.table}_default`, ...(t.noCycle ? [`${t.table}_no_cycle`] : [])]) {
        await q.query(
          `CREATE TRIGGER "${p}_no_truncate" BEFORE TRUNCATE ON "${p}" FOR EACH STATEMENT EXECUTE FUNCTION partition_refuse_truncate()`,
        );
      }
    }

    // Every month the held rows need (and the current one), then the rows, in key order.
    await q.query(`SELECT partition_ensure_month(m) FROM (
        SELECT execution_time AS m FROM klear_obligation
        UNION SELECT cycle FROM journal_posting_unpartitioned WHERE cycle IS NOT NULL
        UNION SELECT cycle FROM recon_run WHERE cycle IS NOT NULL
        UNION SELECT received_at FROM klear_response_archive_unpartitioned
        UNION SELECT now()) months`);
    // Every column the old table had (read from the catalogue), and the key.
    const keyOf: Record<string, { join: string; expr: string } | null> = {
      klear_settlement_detail: {
        join: 'LEFT JOIN klear_obligation k ON k.id = o.obligation_id',
        expr: `coalesce(k.execution_time, '-infinity')`,
      },
      klear_margin_detail: {
        join: 'LEFT JOIN klear_obligation k ON k.id = o.obligation_id',
        expr: `coalesce(k.execution_time, '-infinity')`,
      },
      journal_posting: { join: '', expr: `coalesce(o.cycle, '-infinity')` },
      recon_break_observation: { join: 'LEFT JOIN recon_run k ON k.id = o.run_id', expr: `coalesce(k.cycle, '-infinity')` },
      klear_response_archive: null,
    };
    for (const t of PARTITIONED_TABLES) {
      const columns = (
        (await q.query(
          `SELECT quote_ident(column_name) AS c FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
          [`${t.table}_unpartitioned`],
        )) as Array<{ c: string }>
      ).map((r) => r.c);
      const key = keyOf[t.table];
      await q.query(
        `INSERT INTO "${t.table}" (${columns.join(', ')}${key ? `, "${t.key}"` : ''})
         SELECT ${columns.map((c) => `o.${c}`).join(', ')}${key ? `, ${key.expr}` : ''} FROM "${t.table}_unpartitioned" o ${key?.join ?? ''}`,
      );
    }
    for (const t of PARTITIONED_TABLES) await q.query(`DROP TABLE "${t.table}_unpartitioned"`);

    // Keys carry the partition key; the indexes are per partition (a cycle's queries touch its month only).
    await q.query(
      `ALTER TABLE "klear_settlement_detail" ADD CONSTRAINT "PK_889d5ee7c55cfd46091ed8ca7b1" PRIMARY KEY ("obligation_id", "id", "cycle")`,
    );
    await q.query(
      `ALTER TABLE "klear_margin_detail" ADD CONSTRAINT "PK_72c9aab809e37386b52c1103de1" PRIMARY KEY ("obligation_id", "id", "cycle")`,
    );
    await q.query(
      `ALTER TABLE "journal_posting" ADD CONSTRAINT "PK_a996fec8bc5a6f2f5a1f1065db1" PRIMARY KEY ("entry_seq", "line_no", "cycle_key")`,
    );
    await q.query(
      `ALTER TABLE "recon_break_observation" ADD CONSTRAINT "PK_c4664f79b1c40be43c7703a669c" PRIMARY KEY ("run_id", "ordinal", "cycle_key")`,
    );
    await q.query(`ALTER TABLE "klear_response_archive" ADD CONSTRAINT "PK_0b5048fb074e38c67d3d647a744" PRIMARY KEY ("id", "received_at")`);
    // The indexes and foreign keys the tables had (journal_posting -> journal_entry: PostgreSQL 15 lets a
    // partitioned table reference a plain one), then the new "this cycle" indexes of the details.
    for (const def of carried) await q.query(def);
    await q.query(`CREATE INDEX "IDX_klear_settlement_detail_cycle" ON "klear_settlement_detail" ("cycle", "subtrader_id")`);
    await q.query(`CREATE INDEX "IDX_klear_margin_detail_cycle" ON "klear_margin_detail" ("cycle", "subtrader_id")`);
    // The triggers they had, now on the partitioned tables: row triggers (append-only refusals, the
    // deferred double-entry check) are cloned onto every partition, present and future; statement
    // triggers with transition tables (the reconciliation summaries, postings only in their entry's
    // transaction) see the rows of every partition. Replayed after the rows moved: the summaries
    // already count them.
    for (const def of triggers) await q.query(def);

    // Double entry checks read an entry's postings in the entry's own partition (pruned by cycle_key).
    // A posting filed under another cycle than its entry's fails its own check as mislabelled.
    await q.query(
      `CREATE OR REPLACE FUNCTION journal_entry_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE n integer; total numeric; mislabelled integer; BEGIN SELECT count(*), coalesce(sum(amount_centicents), 0), count(*) FILTER (WHERE cycle IS DISTINCT FROM NEW.cycle OR subtrader_id IS DISTINCT FROM NEW.subtrader_id) INTO n, total, mislabelled FROM "journal_posting" WHERE entry_seq = NEW.ledger_seq AND cycle_key = coalesce(NEW.cycle, '-infinity'); IF n < 2 OR total <> 0 OR mislabelled > 0 THEN RAISE EXCEPTION 'journal entry % is not balanced double entry (% postings, sum %, % mislabelled)', NEW.external_id, n, total, mislabelled USING ERRCODE = 'check_violation'; END IF; RETURN NULL; END $$`,
    );
    await q.query(
      `CREATE OR REPLACE FUNCTION journal_posting_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE n integer; total numeric; mislabelled integer; ext text; BEGIN SELECT count(*), coalesce(sum(p.amount_centicents), 0), count(*) FILTER (WHERE p.cycle IS DISTINCT FROM e.cycle OR p.subtrader_id IS DISTINCT FROM e.subtrader_id), min(e.external_id) INTO n, total, mislabelled, ext FROM "journal_posting" p JOIN "journal_entry" e ON e.ledger_seq = p.entry_seq WHERE p.entry_seq = NEW.entry_seq AND p.cycle_key = NEW.cycle_key; IF n < 2 OR total <> 0 OR mislabelled > 0 THEN RAISE EXCEPTION 'journal entry % is not balanced double entry (% postings, sum %, % mislabelled)', ext, n, total, mislabelled USING ERRCODE = 'check_violation'; END IF; RETURN NULL; END $$`,
    );
    await this.retentionFunctions(q);
    for (const f of [
      'partition_ensure_month(timestamptz)',
      'partition_default_rows()',
      'partition_archive_month(timestamptz)',
      'partition_drop_archived(timestamptz)',
      'partition_restore_month(timestamptz)',
    ]) {
      await q.query(`REVOKE ALL ON FUNCTION ${f} FROM PUBLIC`);
    }
  }

  /**
   * Retention (retention:run): a month leaves the hot tables by DETACH into the `archive` schema, where
   * it stays readable and read-only until exported; the summaries of its cycles move with it (so the
   * summaries keep agreeing with the rows they summarise). partition_restore_month() puts it back.
   */
  private async retentionFunctions(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SCHEMA IF NOT EXISTS archive`);
    await q.query(`CREATE FUNCTION archive.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN RAISE EXCEPTION 'archive.% is an archived partition, read-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege'; END $fn$`);
    const readOnly = (table: string) =>
      [
        `EXECUTE format('CREATE TRIGGER archived_read_only BEFORE INSERT OR UPDATE OR DELETE ON archive.%I FOR EACH ROW EXECUTE FUNCTION archive.refuse_change()', ${table})`,
        `EXECUTE format('CREATE TRIGGER archived_no_truncate BEFORE TRUNCATE ON archive.%I FOR EACH STATEMENT EXECUTE FUNCTION archive.refuse_change()', ${table})`,
      ].join(';\n');
    await q.query(`CREATE FUNCTION partition_archive_month(month timestamptz) RETURNS TABLE (table_name text, archived_as text, row_count bigint)
      LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
      DECLARE
        lo timestamptz := date_trunc('month', month, 'UTC');
        hi timestamptz := (date_trunc('month', month AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
        suffix text := '_p' || to_char(date_trunc('month', month, 'UTC') AT TIME ZONE 'UTC', 'YYYYMM');
        t record; part text; summary text;
      BEGIN
        FOR t IN SELECT * FROM (VALUES ${TABLE_LIST}) v(tab, key, append_only) LOOP
          part := t.tab || suffix;
          CONTINUE WHEN to_regclass(part) IS NULL;
          IF to_regclass('archive.' || part) IS NOT NULL THEN RAISE EXCEPTION 'archive.% already exists', part; END IF;
          EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', t.tab, part);
          EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', part || '_no_truncate', part);
          EXECUTE format('ALTER TABLE %I SET SCHEMA archive', part);
          ${readOnly('part')};
          table_name := t.tab; archived_as := 'archive.' || part;
          EXECUTE format('SELECT count(*) FROM archive.%I', part) INTO row_count;
          RETURN NEXT;
        END LOOP;
        -- The summaries of the month's cycles leave with their rows.
        IF to_regclass('archive.klear_settlement_detail' || suffix) IS NOT NULL THEN
          EXECUTE format('CREATE TABLE archive.%I AS SELECT s.* FROM klear_settlement_summary s JOIN klear_obligation o ON o.id = s.obligation_id
                           WHERE o.execution_time >= $1 AND o.execution_time < $2', 'klear_settlement_summary' || suffix) USING lo, hi;
          DELETE FROM klear_settlement_summary s USING klear_obligation o WHERE o.id = s.obligation_id AND o.execution_time >= lo AND o.execution_time < hi;
          ${readOnly(`'klear_settlement_summary' || suffix`)};
          table_name := 'klear_settlement_summary'; archived_as := 'archive.klear_settlement_summary' || suffix;
          EXECUTE format('SELECT count(*) FROM archive.%I', 'klear_settlement_summary' || suffix) INTO row_count;
          RETURN NEXT;
        END IF;
        IF to_regclass('archive.journal_posting' || suffix) IS NOT NULL THEN
          FOREACH summary IN ARRAY ${LEDGER_SUMMARIES} LOOP
            EXECUTE format('CREATE TABLE archive.%I AS SELECT * FROM %I WHERE cycle >= $1 AND cycle < $2', summary || suffix, summary) USING lo, hi;
            EXECUTE format('DELETE FROM %I WHERE cycle >= $1 AND cycle < $2', summary) USING lo, hi;
            ${readOnly(`summary || suffix`)};
            table_name := summary; archived_as := 'archive.' || summary || suffix;
            EXECUTE format('SELECT count(*) FROM archive.%I', summary || suffix) INTO row_count;
            RETURN NEXT;
          END LOOP;
        END IF;
      END $fn$`);
    // After a verified export: the archived tables of the month go (the export is the copy kept).
    await q.query(`CREATE FUNCTION partition_drop_archived(month timestamptz) RETURNS integer
      LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
      DECLARE suffix text := '_p' || to_char(date_trunc('month', month, 'UTC') AT TIME ZONE 'UTC', 'YYYYMM'); r record; n integer := 0;
      BEGIN
        FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
                  WHERE ns.nspname = 'archive' AND c.relkind = 'r' AND c.relname LIKE '%' || suffix LOOP
          EXECUTE format('DROP TABLE archive.%I', r.relname);
          n := n + 1;
        END LOOP;
        RETURN n;
      END $fn$`);
    // A month still in the archive schema goes back into the hot tables, with its summaries.
    await q.query(`CREATE FUNCTION partition_restore_month(month timestamptz) RETURNS integer
      LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
      DECLARE
        lo timestamptz := date_trunc('month', month, 'UTC');
        hi timestamptz := (date_trunc('month', month AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
        suffix text := '_p' || to_char(date_trunc('month', month, 'UTC') AT TIME ZONE 'UTC', 'YYYYMM');
        t record; part text; n integer := 0; summary text;
      BEGIN
        FOR t IN SELECT * FROM (VALUES ${TABLE_LIST}) v(tab, key, append_only) LOOP
          part := t.tab || suffix;
          CONTINUE WHEN to_regclass('archive.' || part) IS NULL;
          IF to_regclass(part) IS NOT NULL THEN RAISE EXCEPTION '% exists again in the hot tables: restore refused', part; END IF;
          EXECUTE format('DROP TRIGGER archived_read_only ON archive.%I', part);
          EXECUTE format('DROP TRIGGER archived_no_truncate ON archive.%I', part);
          EXECUTE format('ALTER TABLE archive.%I SET SCHEMA public', part);
          EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', t.tab, part, lo, hi);
          IF t.append_only THEN
            EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION partition_refuse_truncate()', part || '_no_truncate', part);
          END IF;
          n := n + 1;
        END LOOP;
        IF to_regclass('archive.klear_settlement_summary' || suffix) IS NOT NULL THEN
          EXECUTE format('INSERT INTO klear_settlement_summary SELECT * FROM archive.%I', 'klear_settlement_summary' || suffix);
          EXECUTE format('DROP TABLE archive.%I', 'klear_settlement_summary' || suffix);
        END IF;
        FOREACH summary IN ARRAY ${LEDGER_SUMMARIES} LOOP
          IF to_regclass('archive.' || summary || suffix) IS NOT NULL THEN
            EXECUTE format('INSERT INTO %I SELECT * FROM archive.%I', summary, summary || suffix);
            EXECUTE format('DROP TABLE archive.%I', summary || suffix);
          END IF;
        END LOOP;
        RETURN n;
      END $fn$`);
  }

  public async down(): Promise<void> {
    // Partitioned tables are not turned back into plain ones: restore from a backup taken before.
    throw new Error('CyclePartitions cannot be reverted in place (docs/partitioning-and-retention.md)');
  }
}
