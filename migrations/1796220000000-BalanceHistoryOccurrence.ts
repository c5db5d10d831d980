import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Balance-history entries Klear really holds twice (no id tells them apart) are two rows: the identity
 * gains the entry's occurrence among identical entries side by side on a page (docs/ingestion.md).
 * Rows held so far are occurrence 0 (the old identity allowed one of each).
 */
export class BalanceHistoryOccurrence1796220000000 implements MigrationInterface {
  name = 'BalanceHistoryOccurrence1796220000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "klear_balance_history" ADD "occurrence" integer NOT NULL DEFAULT 0`);
    await q.query(`DROP INDEX "public"."UQ_klear_balance_history_identity"`);
    await q.query(
      `CREATE UNIQUE INDEX "UQ_klear_balance_history_identity" ON "klear_balance_history" ("business_transaction_id", "created_ts", "balance_delta_centicents", "locked_balance_delta_centicents", "reason", "occurrence")`,
    );
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM "klear_balance_history" WHERE "occurrence" > 0`);
    await q.query(`DROP INDEX "public"."UQ_klear_balance_history_identity"`);
    await q.query(
      `CREATE UNIQUE INDEX "UQ_klear_balance_history_identity" ON "klear_balance_history" ("business_transaction_id", "created_ts", "balance_delta_centicents", "locked_balance_delta_centicents", "reason")`,
    );
    await q.query(`ALTER TABLE "klear_balance_history" DROP COLUMN "occurrence"`);
  }
}
