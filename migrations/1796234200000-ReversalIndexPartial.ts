import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 18: every page of GET /ledger/entries looks up, for each of its entries, the entry reversing it
 * (`r.reverses_external_id = e.external_id`). The unique index on `reverses_external_id` held a NULL for
 * every entry that reverses nothing, i.e. nearly the whole ledger: it grew a level between day 1 and
 * day 30 of the growth world and each page paid one more buffer per entry (51 a page). Indexed for
 * reversals only, it stays the size of the reversals. Uniqueness is unchanged (NULLs never conflicted).
 */
export class ReversalIndexPartial1796234200000 implements MigrationInterface {
  name = 'ReversalIndexPartial1796234200000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE UNIQUE INDEX "IDX_journal_entry_reversal" ON "journal_entry" ("reverses_external_id") WHERE "reverses_external_id" IS NOT NULL`,
    );
    await queryRunner.query(`DROP INDEX "public"."IDX_d0b3b26ee45868909d8feabd1b"`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE UNIQUE INDEX "IDX_d0b3b26ee45868909d8feabd1b" ON "journal_entry" ("reverses_external_id") `);
    await queryRunner.query(`DROP INDEX "public"."IDX_journal_entry_reversal"`);
  }
}
