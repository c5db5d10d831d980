import type { MigrationInterface, QueryRunner } from 'typeorm';

export class WithdrawalFencingAndAnswers1796190290653 implements MigrationInterface {
  name = 'WithdrawalFencingAndAnswers1796190290653';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "withdrawal_executor_fence" ("id" smallint NOT NULL, "token" bigint NOT NULL, "holder" text, "acquired_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "withdrawal_executor_fence_single_row" CHECK ("id" = 1), CONSTRAINT "PK_e8fa5cd9df9491c854987bb3659" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "withdrawal_klear_answer" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "request_id" uuid NOT NULL, "attempt_id" uuid NOT NULL, "received_at" TIMESTAMP WITH TIME ZONE NOT NULL, "outcome" text NOT NULL, "http_status" integer, "klear_withdrawal_id" text, "klear_code" text, "message" text, "body" text, "fencing_token" bigint, CONSTRAINT "withdrawal_klear_answer_outcome_known" CHECK ("outcome" IN ('created','refused','unknown','not_sent')), CONSTRAINT "PK_b8e145dd2c0c0bdc49f331fa712" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_dd09df10512b795359f3ebbb23" ON "withdrawal_klear_answer"  ("klear_withdrawal_id") `);
    await queryRunner.query(`CREATE INDEX "IDX_d8a3edf37e31bbc8e97cd3d271" ON "withdrawal_klear_answer"  ("attempt_id") `);
    await queryRunner.query(`ALTER TABLE "withdrawal_request" ADD "attention_reason" text`);
    await queryRunner.query(`ALTER TABLE "withdrawal_request" ADD "attention_details" jsonb`);
    await queryRunner.query(`ALTER TABLE "withdrawal_request" ADD "attention_raised_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "withdrawal_request" ADD "attention_notified_at" TIMESTAMP WITH TIME ZONE`);
    // A failed wire is one reason among others for a person to look: its alert moves to the attention columns.
    await queryRunner.query(
      `UPDATE "withdrawal_request" SET "attention_reason" = 'wire_failed', "attention_raised_at" = "updated_at", "attention_notified_at" = "failure_notified_at" WHERE "state" = 'failed'`,
    );
    await queryRunner.query(`ALTER TABLE "withdrawal_request" DROP COLUMN "failure_notified_at"`);
    await queryRunner.query(`INSERT INTO "withdrawal_executor_fence" ("id", "token") VALUES (1, 0)`);
    await queryRunner.query(
      `CREATE FUNCTION withdrawal_klear_answer_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'withdrawal_klear_answer is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege'; END $$`,
    );
    await queryRunner.query(
      `CREATE TRIGGER withdrawal_klear_answer_no_update_delete BEFORE UPDATE OR DELETE ON "withdrawal_klear_answer" FOR EACH ROW EXECUTE FUNCTION withdrawal_klear_answer_refuse_change()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER withdrawal_klear_answer_no_truncate BEFORE TRUNCATE ON "withdrawal_klear_answer" FOR EACH STATEMENT EXECUTE FUNCTION withdrawal_klear_answer_refuse_change()`,
    );
    await queryRunner.query(`ALTER TABLE "withdrawal_attempt" DROP CONSTRAINT "withdrawal_attempt_state_known"`);
    await queryRunner.query(
      `ALTER TABLE "withdrawal_attempt" ADD CONSTRAINT "withdrawal_attempt_state_known" CHECK ("state" IN ('submitting','submitted','outcome_unknown','not_submitted','abandoned'))`,
    );
    await queryRunner.query(`ALTER TABLE "withdrawal_attempt" ADD "posted_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "withdrawal_attempt" ADD "fencing_token" bigint`);
    await queryRunner.query(
      `CREATE INDEX "IDX_afd38a155371dd539872f4b23b" ON "withdrawal_request"  ("attention_reason") WHERE "attention_reason" IS NOT NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_afd38a155371dd539872f4b23b"`);
    await queryRunner.query(`ALTER TABLE "withdrawal_attempt" DROP CONSTRAINT "withdrawal_attempt_state_known"`);
    await queryRunner.query(
      `ALTER TABLE "withdrawal_attempt" ADD CONSTRAINT "withdrawal_attempt_state_known" CHECK ("state" IN ('submitting','submitted','outcome_unknown','not_submitted'))`,
    );
    await queryRunner.query(`ALTER TABLE "withdrawal_attempt" DROP COLUMN "fencing_token"`);
    await queryRunner.query(`ALTER TABLE "withdrawal_attempt" DROP COLUMN "posted_at"`);
    await queryRunner.query(`ALTER TABLE "withdrawal_request" DROP COLUMN "attention_notified_at"`);
    await queryRunner.query(`ALTER TABLE "withdrawal_request" DROP COLUMN "attention_raised_at"`);
    await queryRunner.query(`ALTER TABLE "withdrawal_request" DROP COLUMN "attention_details"`);
    await queryRunner.query(`ALTER TABLE "withdrawal_request" DROP COLUMN "attention_reason"`);
    await queryRunner.query(`ALTER TABLE "withdrawal_request" ADD "failure_notified_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(
      `UPDATE "withdrawal_request" SET "failure_notified_at" = "attention_notified_at" WHERE "attention_reason" = 'wire_failed'`,
    );
    await queryRunner.query(`DROP INDEX "public"."IDX_d8a3edf37e31bbc8e97cd3d271"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_dd09df10512b795359f3ebbb23"`);
    await queryRunner.query(`DROP TABLE "withdrawal_klear_answer"`);
    await queryRunner.query(`DROP FUNCTION withdrawal_klear_answer_refuse_change()`);
    await queryRunner.query(`DROP TABLE "withdrawal_executor_fence"`);
  }
}
