import type { MigrationInterface, QueryRunner } from 'typeorm';

export class LedgerPostingAccountIndex1795258653861 implements MigrationInterface {
  name = 'LedgerPostingAccountIndex1795258653861';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "IDX_1830bef7b47f4c3c4d6bbe006a" ON "journal_posting"  ("account", "cycle") `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_1830bef7b47f4c3c4d6bbe006a"`);
  }
}
