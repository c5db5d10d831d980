import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Ledger1795255604916 implements MigrationInterface {
  name = 'Ledger1795255604916';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "ledger_import" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "file_name" text NOT NULL, "sha256" text NOT NULL, "size_bytes" bigint NOT NULL, "format" text NOT NULL, "partial" boolean NOT NULL, "status" text NOT NULL, "row_count" integer NOT NULL, "entry_count" integer NOT NULL, "created_count" integer NOT NULL, "unchanged_count" integer NOT NULL, "rejected_entry_count" integer NOT NULL, "rejected_row_count" integer NOT NULL, "rejections" jsonb, "created_by" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_602a7f363fd8ce4eef16eb51950" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_002eab79a9d8e834f9b6fa9674" ON "ledger_import"  ("sha256") `);
    await queryRunner.query(
      `CREATE TABLE "subtrader" ("subtrader_id" text NOT NULL, "first_seen_in_ledger_at" TIMESTAMP WITH TIME ZONE, "first_seen_in_klear_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_f931a7c07576f43ee50d73be5e0" PRIMARY KEY ("subtrader_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "journal_entry" ("ledger_seq" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "external_id" text NOT NULL, "entry_type" text NOT NULL, "effective_at" TIMESTAMP WITH TIME ZONE NOT NULL, "cycle" TIMESTAMP WITH TIME ZONE, "subtrader_id" text, "business_reference" text, "description" text, "reverses_external_id" text, "content_hash" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "created_by" text NOT NULL, "import_id" uuid, CONSTRAINT "PK_da3e8cf18659a2ea6a09ae1cbf5" PRIMARY KEY ("ledger_seq"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "IDX_f7a5d65899c576423b2ecfd917" ON "journal_entry"  ("external_id") `);
    await queryRunner.query(`CREATE UNIQUE INDEX "IDX_d0b3b26ee45868909d8feabd1b" ON "journal_entry"  ("reverses_external_id") `);
    await queryRunner.query(`CREATE INDEX "IDX_bba79486971f3f01f86caa8434" ON "journal_entry"  ("import_id") `);
    await queryRunner.query(`CREATE INDEX "IDX_2ebcadf5232c08c5b03d21c0cf" ON "journal_entry"  ("subtrader_id", "ledger_seq") `);
    await queryRunner.query(`CREATE INDEX "IDX_de9e0729f1e4b6f15d7d95a93b" ON "journal_entry"  ("cycle", "subtrader_id") `);
    await queryRunner.query(
      `CREATE TABLE "journal_posting" ("entry_seq" bigint NOT NULL, "line_no" integer NOT NULL, "account" text NOT NULL, "market_ticker" text, "amount_centicents" bigint NOT NULL, "cycle" TIMESTAMP WITH TIME ZONE, "subtrader_id" text, CONSTRAINT "PK_a996fec8bc5a6f2f5a1f1065db1" PRIMARY KEY ("entry_seq", "line_no"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_27ee6386a6147f02c2dba6729a" ON "journal_posting"  ("cycle", "subtrader_id", "account", "market_ticker") `,
    );
    await queryRunner.query(
      `ALTER TABLE "journal_entry" ADD CONSTRAINT "FK_618c2fdbc44470dd92996b956ea" FOREIGN KEY ("subtrader_id") REFERENCES "subtrader"("subtrader_id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "journal_entry" ADD CONSTRAINT "FK_d0b3b26ee45868909d8feabd1ba" FOREIGN KEY ("reverses_external_id") REFERENCES "journal_entry"("external_id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "journal_entry" ADD CONSTRAINT "FK_bba79486971f3f01f86caa8434a" FOREIGN KEY ("import_id") REFERENCES "ledger_import"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "journal_posting" ADD CONSTRAINT "FK_21cfd22c28564f17e119d60421d" FOREIGN KEY ("entry_seq") REFERENCES "journal_entry"("ledger_seq") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    // Immutable ledger: the database itself refuses UPDATE, DELETE and TRUNCATE of entries and postings.
    await queryRunner.query(
      `CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '% is immutable: % refused (book a reversal instead)', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege'; END $$`,
    );
    for (const table of ['journal_entry', 'journal_posting']) {
      await queryRunner.query(
        `CREATE TRIGGER ${table}_no_update_delete BEFORE UPDATE OR DELETE ON "${table}" FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()`,
      );
      await queryRunner.query(
        `CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON "${table}" FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()`,
      );
    }
    // Postings join only an entry created by the same transaction: a committed entry cannot grow legs.
    // Set-based over the statement's new rows (xmin of the entry row = this transaction).
    await queryRunner.query(
      `CREATE FUNCTION journal_posting_refuse_foreign_entry() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF EXISTS (SELECT 1 FROM new_postings p JOIN "journal_entry" e ON e.ledger_seq = p.entry_seq WHERE NOT (e.xmin = pg_current_xact_id()::xid)) THEN RAISE EXCEPTION 'journal_posting: postings may only be added in the transaction that creates their entry' USING ERRCODE = 'insufficient_privilege'; END IF; RETURN NULL; END $$`,
    );
    await queryRunner.query(
      `CREATE TRIGGER journal_posting_same_transaction AFTER INSERT ON "journal_posting" REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION journal_posting_refuse_foreign_entry()`,
    );
    // Double entry, checked at commit (deferred: an entry and its postings are separate statements):
    // at least two postings, summing to zero, carrying the entry's cycle and subtrader.
    await queryRunner.query(
      `CREATE FUNCTION journal_entry_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE n integer; total numeric; mislabelled integer; BEGIN SELECT count(*), coalesce(sum(amount_centicents), 0), count(*) FILTER (WHERE cycle IS DISTINCT FROM NEW.cycle OR subtrader_id IS DISTINCT FROM NEW.subtrader_id) INTO n, total, mislabelled FROM "journal_posting" WHERE entry_seq = NEW.ledger_seq; IF n < 2 OR total <> 0 OR mislabelled > 0 THEN RAISE EXCEPTION 'journal entry % is not balanced double entry (% postings, sum %, % mislabelled)', NEW.external_id, n, total, mislabelled USING ERRCODE = 'check_violation'; END IF; RETURN NULL; END $$`,
    );
    await queryRunner.query(
      `CREATE CONSTRAINT TRIGGER journal_entry_balanced AFTER INSERT ON "journal_entry" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_entry_check_balanced()`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER journal_entry_balanced ON "journal_entry"`);
    await queryRunner.query(`DROP FUNCTION journal_entry_check_balanced()`);
    await queryRunner.query(`DROP TRIGGER journal_posting_same_transaction ON "journal_posting"`);
    await queryRunner.query(`DROP FUNCTION journal_posting_refuse_foreign_entry()`);
    for (const table of ['journal_entry', 'journal_posting']) {
      await queryRunner.query(`DROP TRIGGER ${table}_no_truncate ON "${table}"`);
      await queryRunner.query(`DROP TRIGGER ${table}_no_update_delete ON "${table}"`);
    }
    await queryRunner.query(`DROP FUNCTION ledger_refuse_change()`);
    await queryRunner.query(`ALTER TABLE "journal_posting" DROP CONSTRAINT "FK_21cfd22c28564f17e119d60421d"`);
    await queryRunner.query(`ALTER TABLE "journal_entry" DROP CONSTRAINT "FK_bba79486971f3f01f86caa8434a"`);
    await queryRunner.query(`ALTER TABLE "journal_entry" DROP CONSTRAINT "FK_d0b3b26ee45868909d8feabd1ba"`);
    await queryRunner.query(`ALTER TABLE "journal_entry" DROP CONSTRAINT "FK_618c2fdbc44470dd92996b956ea"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_27ee6386a6147f02c2dba6729a"`);
    await queryRunner.query(`DROP TABLE "journal_posting"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_de9e0729f1e4b6f15d7d95a93b"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_2ebcadf5232c08c5b03d21c0cf"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_bba79486971f3f01f86caa8434"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_d0b3b26ee45868909d8feabd1b"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_f7a5d65899c576423b2ecfd917"`);
    await queryRunner.query(`DROP TABLE "journal_entry"`);
    await queryRunner.query(`DROP TABLE "subtrader"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_002eab79a9d8e834f9b6fa9674"`);
    await queryRunner.query(`DROP TABLE "ledger_import"`);
  }
}
