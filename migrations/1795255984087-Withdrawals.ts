import type { MigrationInterface, QueryRunner } from 'typeorm';

const APPEND_ONLY = ['withdrawal_state_change', 'withdrawal_approval', 'withdrawal_policy'];

export class Withdrawals1795255984087 implements MigrationInterface {
  name = 'Withdrawals1795255984087';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "withdrawal_request" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "amount_centicents" bigint NOT NULL, "purpose" text NOT NULL, "requester_id" uuid NOT NULL, "requester_name" text NOT NULL, "idempotency_key" text NOT NULL, "request_hash" text NOT NULL, "state" text NOT NULL, "policy_version" integer NOT NULL, "policy_snapshot" jsonb NOT NULL, "approvals_required" integer NOT NULL, "roles_required" text array NOT NULL, "approval_round" integer NOT NULL DEFAULT '1', "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "headroom_at_request" jsonb NOT NULL, "execution_hold" jsonb, "klear_withdrawal_id" text, "submitted_at" TIMESTAMP WITH TIME ZONE, "klear_status" text, "failure_notified_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "version" integer NOT NULL, CONSTRAINT "withdrawal_request_state_known" CHECK ("state" IN ('pending_approval','approved','submitting','submitted','processing','processed','rejected','cancelled','expired','failed','outcome_unknown','not_submitted')), CONSTRAINT "withdrawal_request_amount_positive" CHECK ("amount_centicents" > 0), CONSTRAINT "PK_bc9a9e96931501edf31e665327f" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_a584ef472945942a7a7c154e28" ON "withdrawal_request"  ("klear_withdrawal_id") WHERE "klear_withdrawal_id" IS NOT NULL`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_840ee4bef50a0d95b278851e2f" ON "withdrawal_request"  ("state", "created_at") `);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_544514a78f51061e3402e90daf" ON "withdrawal_request"  ("requester_id", "idempotency_key") `,
    );
    await queryRunner.query(
      `CREATE TABLE "withdrawal_approval" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "request_id" uuid NOT NULL, "round" integer NOT NULL, "approver_id" uuid NOT NULL, "approver_name" text NOT NULL, "approver_roles" text array NOT NULL, "decision" text NOT NULL, "reason" text, "decided_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "withdrawal_approval_decision_known" CHECK ("decision" IN ('approve','reject')), CONSTRAINT "PK_3a5536ff6e6a19f9f9b136232e6" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_83c86dfbfcf1a056c2be7de35f" ON "withdrawal_approval"  ("request_id", "round", "approver_id") `,
    );
    await queryRunner.query(
      `CREATE TABLE "withdrawal_attempt" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "request_id" uuid NOT NULL, "attempt_no" integer NOT NULL, "state" text NOT NULL, "started_at" TIMESTAMP WITH TIME ZONE NOT NULL, "finished_at" TIMESTAMP WITH TIME ZONE, "klear_withdrawal_id" text, "error" text, "available_before_centicents" bigint NOT NULL, "locked_before_centicents" bigint NOT NULL, "history_head_before" jsonb, "resolution" jsonb, CONSTRAINT "withdrawal_attempt_state_known" CHECK ("state" IN ('submitting','submitted','outcome_unknown','not_submitted')), CONSTRAINT "PK_7b1bccdc3a60edda19bd3b6dedd" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_0c655c02644ccd6df594123273" ON "withdrawal_attempt"  ("klear_withdrawal_id") WHERE "klear_withdrawal_id" IS NOT NULL`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_1b79991d265ca7c35c02fcb270" ON "withdrawal_attempt"  ("state") `);
    await queryRunner.query(`CREATE UNIQUE INDEX "IDX_c695d971270607e0989da2cae3" ON "withdrawal_attempt"  ("request_id", "attempt_no") `);
    await queryRunner.query(
      `CREATE TABLE "withdrawal_policy" ("version" integer NOT NULL, "tiers" jsonb NOT NULL, "expiry_seconds" integer NOT NULL, "reserve_floor_centicents" bigint NOT NULL, "cap_centicents" bigint NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL, "created_by" text NOT NULL, CONSTRAINT "PK_1ed3081104e04375b9f53af174c" PRIMARY KEY ("version"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "withdrawal_state_change" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "request_id" uuid NOT NULL, "from_state" text, "to_state" text NOT NULL, "actor" text NOT NULL, "reason" text, "details" jsonb, "at" TIMESTAMP WITH TIME ZONE NOT NULL, "audit_seq" bigint NOT NULL, CONSTRAINT "PK_7b92f2b63a1fab5f1e838a9ba29" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_92a0de89881867b1c25165fe05" ON "withdrawal_state_change"  ("request_id", "id") `);
    await queryRunner.query(
      `ALTER TABLE "withdrawal_request" ADD CONSTRAINT "FK_3ecdb8614efdb444851bd92b085" FOREIGN KEY ("requester_id") REFERENCES "app_user"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "withdrawal_approval" ADD CONSTRAINT "FK_00b5f9064211fdb60a2f0586bd0" FOREIGN KEY ("request_id") REFERENCES "withdrawal_request"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "withdrawal_approval" ADD CONSTRAINT "FK_ad892cf5c69cb8effded5d42409" FOREIGN KEY ("approver_id") REFERENCES "app_user"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "withdrawal_attempt" ADD CONSTRAINT "FK_f6fd5db85e6095605f32dc41af8" FOREIGN KEY ("request_id") REFERENCES "withdrawal_request"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    await queryRunner.query(
      `ALTER TABLE "withdrawal_state_change" ADD CONSTRAINT "FK_afcc280f8c237a09416756a330b" FOREIGN KEY ("request_id") REFERENCES "withdrawal_request"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`,
    );
    // History, decisions and policy versions are append-only: the database refuses edits.
    await queryRunner.query(
      `CREATE FUNCTION withdrawal_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege'; END $$`,
    );
    for (const table of APPEND_ONLY) {
      await queryRunner.query(
        `CREATE TRIGGER ${table}_no_update_delete BEFORE UPDATE OR DELETE ON "${table}" FOR EACH ROW EXECUTE FUNCTION withdrawal_refuse_change()`,
      );
      await queryRunner.query(
        `CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON "${table}" FOR EACH STATEMENT EXECUTE FUNCTION withdrawal_refuse_change()`,
      );
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of APPEND_ONLY) {
      await queryRunner.query(`DROP TRIGGER ${table}_no_truncate ON "${table}"`);
      await queryRunner.query(`DROP TRIGGER ${table}_no_update_delete ON "${table}"`);
    }
    await queryRunner.query(`DROP FUNCTION withdrawal_refuse_change()`);
    await queryRunner.query(`ALTER TABLE "withdrawal_state_change" DROP CONSTRAINT "FK_afcc280f8c237a09416756a330b"`);
    await queryRunner.query(`ALTER TABLE "withdrawal_attempt" DROP CONSTRAINT "FK_f6fd5db85e6095605f32dc41af8"`);
    await queryRunner.query(`ALTER TABLE "withdrawal_approval" DROP CONSTRAINT "FK_ad892cf5c69cb8effded5d42409"`);
    await queryRunner.query(`ALTER TABLE "withdrawal_approval" DROP CONSTRAINT "FK_00b5f9064211fdb60a2f0586bd0"`);
    await queryRunner.query(`ALTER TABLE "withdrawal_request" DROP CONSTRAINT "FK_3ecdb8614efdb444851bd92b085"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_92a0de89881867b1c25165fe05"`);
    await queryRunner.query(`DROP TABLE "withdrawal_state_change"`);
    await queryRunner.query(`DROP TABLE "withdrawal_policy"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_c695d971270607e0989da2cae3"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_1b79991d265ca7c35c02fcb270"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_0c655c02644ccd6df594123273"`);
    await queryRunner.query(`DROP TABLE "withdrawal_attempt"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_83c86dfbfcf1a056c2be7de35f"`);
    await queryRunner.query(`DROP TABLE "withdrawal_approval"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_544514a78f51061e3402e90daf"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_840ee4bef50a0d95b278851e2f"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_a584ef472945942a7a7c154e28"`);
    await queryRunner.query(`DROP TABLE "withdrawal_request"`);
  }
}
