import type { MigrationInterface, QueryRunner } from 'typeorm';

export class JobsAndKlearIngestion1795255857738 implements MigrationInterface {
  name = 'JobsAndKlearIngestion1795255857738';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "job_run" ("id" BIGSERIAL NOT NULL, "job" text NOT NULL, "trigger" text NOT NULL, "status" text NOT NULL, "started_at" TIMESTAMP WITH TIME ZONE NOT NULL, "scheduled_for" TIMESTAMP WITH TIME ZONE, "finished_at" TIMESTAMP WITH TIME ZONE, "items_read" integer NOT NULL DEFAULT '0', "items_written" integer NOT NULL DEFAULT '0', "error" text, "worker_instance" text NOT NULL, "requested_by" text, "details" jsonb, CONSTRAINT "PK_96fe0b041b8bc157dcec25bd8ef" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_job_run_tick" ON "job_run"  ("job", "scheduled_for") WHERE "trigger" = 'schedule' AND "status" IN ('running', 'succeeded', 'failed')`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_8d425a61da90ce6fe0afc322ef" ON "job_run"  ("job", "status") `);
    await queryRunner.query(`CREATE INDEX "IDX_6f6d5065a0f743bbb29a429b7e" ON "job_run"  ("job", "started_at") `);
    await queryRunner.query(
      `CREATE TABLE "klear_balance_history" ("id" BIGSERIAL NOT NULL, "business_transaction_id" text NOT NULL, "created_ts" TIMESTAMP WITH TIME ZONE NOT NULL, "balance_delta_centicents" bigint NOT NULL, "locked_balance_delta_centicents" bigint NOT NULL, "reason" text NOT NULL, "first_pulled_at" TIMESTAMP WITH TIME ZONE NOT NULL, "archive_id" bigint NOT NULL, CONSTRAINT "PK_9ee17d6bdf84a2d28f2586deec1" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_71cc55c76102016344a6deec4d" ON "klear_balance_history"  ("created_ts") `);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_klear_balance_history_identity" ON "klear_balance_history"  ("business_transaction_id", "created_ts", "balance_delta_centicents", "locked_balance_delta_centicents", "reason") `,
    );
    await queryRunner.query(
      `CREATE TABLE "klear_margin_report" ("id" BIGSERIAL NOT NULL, "report_type" text NOT NULL, "report_date" date NOT NULL, "created_ts" TIMESTAMP WITH TIME ZONE NOT NULL, "is_end_of_day" boolean NOT NULL, "first_pulled_at" TIMESTAMP WITH TIME ZONE NOT NULL, "pulled_at" TIMESTAMP WITH TIME ZONE NOT NULL, "file_path" text, "file_size" bigint, "file_sha256" text, "downloaded_at" TIMESTAMP WITH TIME ZONE, "last_download_error" text, "archive_id" bigint NOT NULL, CONSTRAINT "PK_7a20b6582bd58d9f175e076a62d" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_klear_margin_report_identity" ON "klear_margin_report"  ("report_type", "report_date", "created_ts") `,
    );
    await queryRunner.query(
      `CREATE TABLE "klear_obligation" ("id" text NOT NULL, "user_id" text NOT NULL, "amount_centicents" bigint NOT NULL, "fees_centicents" bigint NOT NULL, "maintenance_margin_centicents" bigint NOT NULL, "pnl_centicents" bigint NOT NULL, "execution_time" TIMESTAMP WITH TIME ZONE NOT NULL, "last_updated_ts" TIMESTAMP WITH TIME ZONE NOT NULL, "content_sha256" text NOT NULL, "settlement_detail_count" integer NOT NULL, "first_pulled_at" TIMESTAMP WITH TIME ZONE NOT NULL, "pulled_at" TIMESTAMP WITH TIME ZONE NOT NULL, "archive_id" bigint NOT NULL, CONSTRAINT "PK_9e40a8cf3f9039764d4029168d2" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_5a06aab93d95a70f70402f0b6a" ON "klear_obligation"  ("execution_time") `);
    await queryRunner.query(
      `CREATE TABLE "klear_obligation_version" ("id" BIGSERIAL NOT NULL, "obligation_id" text NOT NULL, "last_updated_ts" TIMESTAMP WITH TIME ZONE NOT NULL, "content_sha256" text NOT NULL, "amount_centicents" bigint NOT NULL, "fees_centicents" bigint NOT NULL, "maintenance_margin_centicents" bigint NOT NULL, "pnl_centicents" bigint NOT NULL, "first_pulled_at" TIMESTAMP WITH TIME ZONE NOT NULL, "archive_id" bigint NOT NULL, CONSTRAINT "PK_2c96eb829e04596d5db9952b016" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_2bc61048e4cb643bbcf48bc75b" ON "klear_obligation_version"  ("obligation_id", "last_updated_ts", "content_sha256") `,
    );
    await queryRunner.query(
      `CREATE TABLE "klear_active_obligation_pull" ("id" BIGSERIAL NOT NULL, "pulled_at" TIMESTAMP WITH TIME ZONE NOT NULL, "obligation_id" text, "archive_id" bigint NOT NULL, CONSTRAINT "PK_1da1886bd31dd4efa03bc366f02" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_9b3f2a939c2fbedbad22e59f07" ON "klear_active_obligation_pull"  ("pulled_at") `);
    await queryRunner.query(
      `CREATE TABLE "klear_settlement_detail" ("obligation_id" text NOT NULL, "id" text NOT NULL, "market_ticker" text NOT NULL, "subtrader_id" text NOT NULL, "pnl_centicents" bigint NOT NULL, "fees_centicents" bigint NOT NULL, "total_centicents" bigint NOT NULL, CONSTRAINT "PK_889d5ee7c55cfd46091ed8ca7b1" PRIMARY KEY ("obligation_id", "id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_bc646e9c07ede5a6e160b2ebe9" ON "klear_settlement_detail"  ("obligation_id", "subtrader_id") `,
    );
    await queryRunner.query(
      `CREATE TABLE "klear_margin_detail" ("obligation_id" text NOT NULL, "id" text NOT NULL, "subtrader_id" text NOT NULL, "maintenance_margin_centicents" bigint NOT NULL, "maintenance_margin_delta_centicents" bigint NOT NULL, CONSTRAINT "PK_72c9aab809e37386b52c1103de1" PRIMARY KEY ("obligation_id", "id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "klear_receive" ("obligation_id" text NOT NULL, "id" text NOT NULL, "type" text NOT NULL, "amount_centicents" bigint NOT NULL, "external_reference" text NOT NULL, "created_ts" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_d1df0e380e97d7dfd1dfb3c271a" PRIMARY KEY ("obligation_id", "id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "klear_response_archive" ("id" BIGSERIAL NOT NULL, "endpoint" text NOT NULL, "params" jsonb NOT NULL, "received_at" TIMESTAMP WITH TIME ZONE NOT NULL, "http_status" integer NOT NULL, "sha256" text NOT NULL, "body" bytea NOT NULL, "job_run_id" bigint, CONSTRAINT "PK_0b5048fb074e38c67d3d647a744" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_18460aec42cd6dc3042ce68e40" ON "klear_response_archive"  ("endpoint", "received_at") `);
    await queryRunner.query(
      `CREATE TABLE "klear_estimate_snapshot" ("id" BIGSERIAL NOT NULL, "source" text NOT NULL, "pulled_at" TIMESTAMP WITH TIME ZONE NOT NULL, "settlement_balance_centicents" bigint NOT NULL, "archive_id" bigint NOT NULL, CONSTRAINT "PK_47256f0b5bdef7c624a6114a907" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_295984583b9b8b388995d138d3" ON "klear_estimate_snapshot"  ("source", "pulled_at") `);
    await queryRunner.query(
      `CREATE TABLE "klear_estimate_line" ("snapshot_id" bigint NOT NULL, "asset_class" text NOT NULL, "scope" text NOT NULL, "key" text NOT NULL, "variation_margin_centicents" bigint NOT NULL, "total_fees_centicents" bigint NOT NULL, "maintenance_margin_delta_centicents" bigint NOT NULL, "maintenance_margin_required_centicents" bigint NOT NULL, "total_amount_centicents" bigint NOT NULL, "omitted_subtrader_count" integer, "omitted_group_count" integer, CONSTRAINT "PK_70872e6bbbff68580e8183339b6" PRIMARY KEY ("snapshot_id", "asset_class", "scope", "key"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "klear_balance_snapshot" ("id" BIGSERIAL NOT NULL, "pulled_at" TIMESTAMP WITH TIME ZONE NOT NULL, "user_id" text NOT NULL, "available_centicents" bigint NOT NULL, "locked_centicents" bigint, "archive_id" bigint NOT NULL, CONSTRAINT "PK_71085df67ca29b23ebcb18da072" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_e6e05f4617c2b0f1c4a5c1e1b4" ON "klear_balance_snapshot"  ("pulled_at") `);
    await queryRunner.query(
      `CREATE TABLE "klear_guaranty_fund_snapshot" ("id" BIGSERIAL NOT NULL, "pulled_at" TIMESTAMP WITH TIME ZONE NOT NULL, "user_id" text NOT NULL, "amount_centicents" bigint NOT NULL, "updated_ts" TIMESTAMP WITH TIME ZONE NOT NULL, "archive_id" bigint NOT NULL, CONSTRAINT "PK_2058d8ea5c95f9c72d87c740df5" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_cc320f0d9d533387988c682b77" ON "klear_guaranty_fund_snapshot"  ("pulled_at") `);
    await queryRunner.query(
      `CREATE TABLE "klear_large_trader_snapshot" ("id" BIGSERIAL NOT NULL, "pulled_at" TIMESTAMP WITH TIME ZONE NOT NULL, "user_id" text NOT NULL, "report_date" date NOT NULL, "archive_id" bigint NOT NULL, CONSTRAINT "PK_647e2d1c2a2e17da9beff2167d3" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_59cbb93a697b50eca9e05a1512" ON "klear_large_trader_snapshot"  ("report_date", "pulled_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "klear_large_trader_position" ("snapshot_id" bigint NOT NULL, "market_ticker" text NOT NULL, "position" bigint NOT NULL, CONSTRAINT "PK_933a9a5f6a9cd787562adfec118" PRIMARY KEY ("snapshot_id", "market_ticker"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "klear_withdrawal" ("id" text NOT NULL, "amount_centicents" bigint NOT NULL, "status" text, "klear_created_ts" TIMESTAMP WITH TIME ZONE, "registered_at" TIMESTAMP WITH TIME ZONE NOT NULL, "last_polled_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_d55e28b6c39748c078be1d193d5" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_646f977f2866dee2a1fa1fba84" ON "klear_withdrawal"  ("status") `);
    await queryRunner.query(
      `CREATE TABLE "klear_withdrawal_status" ("id" BIGSERIAL NOT NULL, "withdrawal_id" text NOT NULL, "status" text NOT NULL, "observed_at" TIMESTAMP WITH TIME ZONE NOT NULL, "archive_id" bigint, CONSTRAINT "PK_c53d5cf53be4198e05b4447a0c8" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_614679a0b37cf3238a6651bc8f" ON "klear_withdrawal_status"  ("withdrawal_id", "status") `,
    );
    // The Klear response archive is immutable, like the audit log: the database refuses UPDATE, DELETE and TRUNCATE.
    await queryRunner.query(
      `CREATE FUNCTION klear_response_archive_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'klear_response_archive is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege'; END $$`,
    );
    await queryRunner.query(
      `CREATE TRIGGER klear_response_archive_no_update_delete BEFORE UPDATE OR DELETE ON "klear_response_archive" FOR EACH ROW EXECUTE FUNCTION klear_response_archive_refuse_change()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER klear_response_archive_no_truncate BEFORE TRUNCATE ON "klear_response_archive" FOR EACH STATEMENT EXECUTE FUNCTION klear_response_archive_refuse_change()`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER klear_response_archive_no_truncate ON "klear_response_archive"`);
    await queryRunner.query(`DROP TRIGGER klear_response_archive_no_update_delete ON "klear_response_archive"`);
    await queryRunner.query(`DROP FUNCTION klear_response_archive_refuse_change()`);
    await queryRunner.query(`DROP INDEX "public"."IDX_614679a0b37cf3238a6651bc8f"`);
    await queryRunner.query(`DROP TABLE "klear_withdrawal_status"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_646f977f2866dee2a1fa1fba84"`);
    await queryRunner.query(`DROP TABLE "klear_withdrawal"`);
    await queryRunner.query(`DROP TABLE "klear_large_trader_position"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_59cbb93a697b50eca9e05a1512"`);
    await queryRunner.query(`DROP TABLE "klear_large_trader_snapshot"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_cc320f0d9d533387988c682b77"`);
    await queryRunner.query(`DROP TABLE "klear_guaranty_fund_snapshot"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_e6e05f4617c2b0f1c4a5c1e1b4"`);
    await queryRunner.query(`DROP TABLE "klear_balance_snapshot"`);
    await queryRunner.query(`DROP TABLE "klear_estimate_line"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_295984583b9b8b388995d138d3"`);
    await queryRunner.query(`DROP TABLE "klear_estimate_snapshot"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_18460aec42cd6dc3042ce68e40"`);
    await queryRunner.query(`DROP TABLE "klear_response_archive"`);
    await queryRunner.query(`DROP TABLE "klear_receive"`);
    await queryRunner.query(`DROP TABLE "klear_margin_detail"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_bc646e9c07ede5a6e160b2ebe9"`);
    await queryRunner.query(`DROP TABLE "klear_settlement_detail"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_9b3f2a939c2fbedbad22e59f07"`);
    await queryRunner.query(`DROP TABLE "klear_active_obligation_pull"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_2bc61048e4cb643bbcf48bc75b"`);
    await queryRunner.query(`DROP TABLE "klear_obligation_version"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_5a06aab93d95a70f70402f0b6a"`);
    await queryRunner.query(`DROP TABLE "klear_obligation"`);
    await queryRunner.query(`DROP INDEX "public"."UQ_klear_margin_report_identity"`);
    await queryRunner.query(`DROP TABLE "klear_margin_report"`);
    await queryRunner.query(`DROP INDEX "public"."UQ_klear_balance_history_identity"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_71cc55c76102016344a6deec4d"`);
    await queryRunner.query(`DROP TABLE "klear_balance_history"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_6f6d5065a0f743bbb29a429b7e"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_8d425a61da90ce6fe0afc322ef"`);
    await queryRunner.query(`DROP INDEX "public"."UQ_job_run_tick"`);
    await queryRunner.query(`DROP TABLE "job_run"`);
  }
}
