import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ExportFiles1795256148671 implements MigrationInterface {
  name = 'ExportFiles1795256148671';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "export_file" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "settlement_date" date NOT NULL, "version" integer NOT NULL, "reconciliation_run_ids" text array NOT NULL DEFAULT '{}', "file_path" text NOT NULL, "file_name" text NOT NULL, "size_bytes" bigint NOT NULL, "sha256" text NOT NULL, "row_counts" jsonb NOT NULL, "created_by" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_487fc59fa2b5933bbaae9eedbc3" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_export_file_date_version" ON "export_file"  ("settlement_date", "version") `);
    // A workbook row describes a file someone may have opened: rebuilds add versions, nothing is rewritten.
    await queryRunner.query(
      `CREATE FUNCTION export_file_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'export_file is append-only: % refused (rebuild the day for a new version)', TG_OP USING ERRCODE = 'insufficient_privilege'; END $$`,
    );
    await queryRunner.query(
      `CREATE TRIGGER export_file_append_only BEFORE UPDATE OR DELETE ON "export_file" FOR EACH ROW EXECUTE FUNCTION export_file_refuse_change()`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER export_file_append_only ON "export_file"`);
    await queryRunner.query(`DROP FUNCTION export_file_refuse_change()`);
    await queryRunner.query(`DROP INDEX "public"."UQ_export_file_date_version"`);
    await queryRunner.query(`DROP TABLE "export_file"`);
  }
}
