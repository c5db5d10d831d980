import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Verification checkpoints of the audit chain: `GET /audit` verifies from the newest trusted one
 * instead of re-walking the whole chain on every request. Append-only, like the chain itself.
 */
export class AuditCheckpoint1796227123662 implements MigrationInterface {
  name = 'AuditCheckpoint1796227123662';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE "audit_checkpoint" ("id" BIGSERIAL NOT NULL, "seq" bigint NOT NULL, "hash" text NOT NULL, "kind" text NOT NULL, "verified_at" TIMESTAMP WITH TIME ZONE NOT NULL, "walk_state" jsonb NOT NULL, "mac" text, "mac_key_id" text, CONSTRAINT "PK_audit_checkpoint" PRIMARY KEY ("id"))`,
    );
    await q.query(
      `CREATE FUNCTION audit_checkpoint_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit_checkpoint is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege'; END $$`,
    );
    await q.query(
      `CREATE TRIGGER audit_checkpoint_no_update_delete BEFORE UPDATE OR DELETE ON "audit_checkpoint" FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_refuse_change()`,
    );
    await q.query(
      `CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON "audit_checkpoint" FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoint_refuse_change()`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER audit_checkpoint_no_truncate ON "audit_checkpoint"`);
    await q.query(`DROP TRIGGER audit_checkpoint_no_update_delete ON "audit_checkpoint"`);
    await q.query(`DROP FUNCTION audit_checkpoint_refuse_change()`);
    await q.query(`DROP TABLE "audit_checkpoint"`);
  }
}
