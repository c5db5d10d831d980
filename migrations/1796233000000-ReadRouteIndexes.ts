import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 18: the newest-first keyset lists of the read routes are served by an index in their order,
 * so a page reads `limit` index entries whatever the history (no sort of every row):
 *
 * | route                              | query order / filter                          | index                                  |
 * |------------------------------------|-----------------------------------------------|----------------------------------------|
 * | GET /withdrawals                   | created_at DESC, id DESC                      | withdrawal_request (created_at, id)    |
 * | GET /settlement/balance/history    | created_ts DESC, id DESC                      | klear_balance_history (created_ts, id) |
 * | GET /obligations, settled_by       | settlement entries of a cycle's window        | klear_balance_history (created_ts), partial: settlement reasons |
 * | GET /obligations                   | execution_time DESC, id DESC                  | klear_obligation (execution_time, id)  |
 * | GET /audit?entity=&entity_id=      | seq DESC                                      | audit_log (entity_type, entity_id, seq)|
 * | GET /audit?entity=                 | seq DESC                                      | audit_log (entity_type, seq)           |
 * | GET /audit?actor=                  | seq DESC                                      | audit_log (actor, seq)                 |
 *
 * The single-column indexes these extend are dropped: every query that used them uses the new ones.
 *
 * Plain CREATE INDEX (migrations run in one transaction, where CONCURRENTLY is not allowed): writes to each
 * table wait while its index builds (README, "Running in production, several instances").
 */
export class ReadRouteIndexes1796233000000 implements MigrationInterface {
  name = 'ReadRouteIndexes1796233000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "IDX_withdrawal_request_created_at_id" ON "withdrawal_request" ("created_at", "id")`);
    await q.query(`CREATE INDEX "IDX_klear_balance_history_created_ts_id" ON "klear_balance_history" ("created_ts", "id")`);
    await q.query(`DROP INDEX "public"."IDX_71cc55c76102016344a6deec4d"`);
    await q.query(
      `CREATE INDEX "IDX_klear_balance_history_settlement" ON "klear_balance_history" ("created_ts") WHERE "reason" IN ('settlement_payment', 'settlement_receipt')`,
    );
    await q.query(`CREATE INDEX "IDX_klear_obligation_execution_time_id" ON "klear_obligation" ("execution_time", "id")`);
    await q.query(`DROP INDEX "public"."IDX_5a06aab93d95a70f70402f0b6a"`);
    await q.query(`CREATE INDEX "IDX_audit_log_entity_seq" ON "audit_log" ("entity_type", "entity_id", "seq")`);
    await q.query(`DROP INDEX "public"."IDX_43fef0ec7f613c19c612fffe62"`);
    await q.query(`CREATE INDEX "IDX_audit_log_entity_type_seq" ON "audit_log" ("entity_type", "seq")`);
    await q.query(`CREATE INDEX "IDX_audit_log_actor_seq" ON "audit_log" ("actor", "seq")`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "public"."IDX_audit_log_actor_seq"`);
    await q.query(`DROP INDEX "public"."IDX_audit_log_entity_type_seq"`);
    await q.query(`CREATE INDEX "IDX_43fef0ec7f613c19c612fffe62" ON "audit_log" ("entity_type", "entity_id")`);
    await q.query(`DROP INDEX "public"."IDX_audit_log_entity_seq"`);
    await q.query(`CREATE INDEX "IDX_5a06aab93d95a70f70402f0b6a" ON "klear_obligation" ("execution_time")`);
    await q.query(`DROP INDEX "public"."IDX_klear_obligation_execution_time_id"`);
    await q.query(`DROP INDEX "public"."IDX_klear_balance_history_settlement"`);
    await q.query(`CREATE INDEX "IDX_71cc55c76102016344a6deec4d" ON "klear_balance_history" ("created_ts")`);
    await q.query(`DROP INDEX "public"."IDX_klear_balance_history_created_ts_id"`);
    await q.query(`DROP INDEX "public"."IDX_withdrawal_request_created_at_id"`);
  }
}
