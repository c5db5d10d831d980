import type { MigrationInterface, QueryRunner } from 'typeorm';

export class DualControl1796207911839 implements MigrationInterface {
  name = 'DualControl1796207911839';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_83c86dfbfcf1a056c2be7de35f"`);
    await queryRunner.query(
      `CREATE TABLE "admin_proposal" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "kind" text NOT NULL, "target_user_id" uuid, "payload" jsonb NOT NULL, "grants" text array NOT NULL DEFAULT '{}', "state" text NOT NULL DEFAULT 'pending', "proposed_by" uuid NOT NULL, "proposed_by_name" text NOT NULL, "proposed_at" TIMESTAMP WITH TIME ZONE NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "decided_by" uuid, "decided_by_name" text, "decided_at" TIMESTAMP WITH TIME ZONE, "decision_reason" text, CONSTRAINT "admin_proposal_not_by_target" CHECK ("decided_by" IS NULL OR "target_user_id" IS NULL OR "decided_by" <> "target_user_id"), CONSTRAINT "admin_proposal_not_by_proposer" CHECK ("decided_by" IS NULL OR "decided_by" <> "proposed_by"), CONSTRAINT "admin_proposal_state_known" CHECK ("state" IN ('pending','applied','rejected','void')), CONSTRAINT "admin_proposal_kind_known" CHECK ("kind" IN ('user.create','user.grant_roles','user.enable','withdrawal_policy.change')), CONSTRAINT "PK_c858c91b575b4a8d3cfd60fa175" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_2dbcd031d922fd2f3f91760eee" ON "admin_proposal"  ("target_user_id") `);
    await queryRunner.query(`CREATE INDEX "IDX_280c09b7f7be668a0cf30b64e3" ON "admin_proposal"  ("state") `);
    await queryRunner.query(
      `CREATE TABLE "user_invitation" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "user_id" uuid, "proposal_id" uuid, "code_hash" text NOT NULL, "issued_at" TIMESTAMP WITH TIME ZONE NOT NULL, "issued_by" text NOT NULL, "issued_to_user_id" uuid, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "redeemed_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, "token_id" uuid, CONSTRAINT "PK_41026b90b70299ac5dc0183351a" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_79f68a9007a10c9fa07febc9e1" ON "user_invitation"  ("user_id") `);
    await queryRunner.query(`CREATE INDEX "IDX_a0a10003590bdcfce975ed2e56" ON "user_invitation"  ("proposal_id") `);
    await queryRunner.query(`CREATE UNIQUE INDEX "IDX_896b60a721ae3ba9f1c65af7ba" ON "user_invitation"  ("code_hash") `);
    await queryRunner.query(`CREATE INDEX "IDX_user_invitation_issued_to" ON "user_invitation"  ("issued_to_user_id") `);
    await queryRunner.query(
      `CREATE TABLE "withdrawal_manual_resolution" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "request_id" uuid NOT NULL, "attempt_id" uuid NOT NULL, "conclusion" text NOT NULL, "klear_withdrawal_id" text, "reason" text NOT NULL, "state" text NOT NULL DEFAULT 'pending', "proposed_by" uuid NOT NULL, "proposed_by_name" text NOT NULL, "proposed_at" TIMESTAMP WITH TIME ZONE NOT NULL, "decided_by" uuid, "decided_by_name" text, "decided_at" TIMESTAMP WITH TIME ZONE, "decision_reason" text, CONSTRAINT "withdrawal_manual_resolution_two_people" CHECK ("decided_by" IS NULL OR "decided_by" <> "proposed_by"), CONSTRAINT "withdrawal_manual_resolution_id_iff_submitted" CHECK (("conclusion" = 'submitted') = ("klear_withdrawal_id" IS NOT NULL)), CONSTRAINT "withdrawal_manual_resolution_state_known" CHECK ("state" IN ('pending','confirmed','rejected','void')), CONSTRAINT "withdrawal_manual_resolution_conclusion_known" CHECK ("conclusion" IN ('submitted','not_submitted')), CONSTRAINT "PK_1591d9df286dc6e318726657e94" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "withdrawal_manual_resolution_one_pending" ON "withdrawal_manual_resolution"  ("request_id") WHERE "state" = 'pending'`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_c6d1722481a8ebcb682087027c" ON "withdrawal_manual_resolution"  ("request_id") `);
    await queryRunner.query(`ALTER TABLE "app_user" ADD "kind" text NOT NULL DEFAULT 'person'`);
    // Tokens made before expiry existed expire 90 days after their creation (the default API_TOKEN_TTL_DAYS).
    await queryRunner.query(`ALTER TABLE "api_token" ADD "expires_at" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`UPDATE "api_token" SET "expires_at" = "created_at" + interval '90 days'`);
    await queryRunner.query(`ALTER TABLE "api_token" ALTER COLUMN "expires_at" SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE "api_token" ADD "issued_by" text NOT NULL DEFAULT 'legacy'`);
    await queryRunner.query(
      `CREATE INDEX "IDX_83c86dfbfcf1a056c2be7de35f" ON "withdrawal_approval"  ("request_id", "round", "approver_id") `,
    );
    await queryRunner.query(
      `ALTER TABLE "app_user" ADD CONSTRAINT "app_user_service_unprivileged" CHECK ("kind" = 'person' OR NOT ("roles" && ARRAY['approver','admin']::text[]))`,
    );
    await queryRunner.query(`ALTER TABLE "app_user" ADD CONSTRAINT "app_user_kind_known" CHECK ("kind" IN ('person','service'))`);
    // An approver may revoke an approval before execution: an appended 'revoke' row (the table stays append-only).
    await queryRunner.query(`ALTER TABLE "withdrawal_approval" DROP CONSTRAINT "withdrawal_approval_decision_known"`);
    await queryRunner.query(
      `ALTER TABLE "withdrawal_approval" ADD CONSTRAINT "withdrawal_approval_decision_known" CHECK ("decision" IN ('approve','reject','revoke'))`,
    );
    // Double entry checked on postings too: a posting added to an entry later in its transaction (even
    // after SET CONSTRAINTS ALL IMMEDIATE ran the entry's own check) is checked again at commit.
    await queryRunner.query(
      `CREATE FUNCTION journal_posting_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE n integer; total numeric; mislabelled integer; ext text; BEGIN SELECT count(*), coalesce(sum(p.amount_centicents), 0), count(*) FILTER (WHERE p.cycle IS DISTINCT FROM e.cycle OR p.subtrader_id IS DISTINCT FROM e.subtrader_id), min(e.external_id) INTO n, total, mislabelled, ext FROM "journal_posting" p JOIN "journal_entry" e ON e.ledger_seq = p.entry_seq WHERE p.entry_seq = NEW.entry_seq; IF n < 2 OR total <> 0 OR mislabelled > 0 THEN RAISE EXCEPTION 'journal entry % is not balanced double entry (% postings, sum %, % mislabelled)', ext, n, total, mislabelled USING ERRCODE = 'check_violation'; END IF; RETURN NULL; END $$`,
    );
    await queryRunner.query(
      `CREATE CONSTRAINT TRIGGER journal_posting_balanced AFTER INSERT ON "journal_posting" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_posting_check_balanced()`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER journal_posting_balanced ON "journal_posting"`);
    await queryRunner.query(`DROP FUNCTION journal_posting_check_balanced()`);
    await queryRunner.query(`ALTER TABLE "withdrawal_approval" DROP CONSTRAINT "withdrawal_approval_decision_known"`);
    await queryRunner.query(
      `ALTER TABLE "withdrawal_approval" ADD CONSTRAINT "withdrawal_approval_decision_known" CHECK ("decision" IN ('approve','reject'))`,
    );
    await queryRunner.query(`ALTER TABLE "app_user" DROP CONSTRAINT "app_user_kind_known"`);
    await queryRunner.query(`ALTER TABLE "app_user" DROP CONSTRAINT "app_user_service_unprivileged"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_83c86dfbfcf1a056c2be7de35f"`);
    await queryRunner.query(`ALTER TABLE "api_token" DROP COLUMN "issued_by"`);
    await queryRunner.query(`ALTER TABLE "api_token" DROP COLUMN "expires_at"`);
    await queryRunner.query(`ALTER TABLE "app_user" DROP COLUMN "kind"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_c6d1722481a8ebcb682087027c"`);
    await queryRunner.query(`DROP INDEX "public"."withdrawal_manual_resolution_one_pending"`);
    await queryRunner.query(`DROP TABLE "withdrawal_manual_resolution"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_user_invitation_issued_to"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_896b60a721ae3ba9f1c65af7ba"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_a0a10003590bdcfce975ed2e56"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_79f68a9007a10c9fa07febc9e1"`);
    await queryRunner.query(`DROP TABLE "user_invitation"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_280c09b7f7be668a0cf30b64e3"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_2dbcd031d922fd2f3f91760eee"`);
    await queryRunner.query(`DROP TABLE "admin_proposal"`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_83c86dfbfcf1a056c2be7de35f" ON "withdrawal_approval" USING btree ("request_id", "round", "approver_id") `,
    );
  }
}
