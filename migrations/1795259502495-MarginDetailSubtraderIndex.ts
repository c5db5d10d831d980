import type { MigrationInterface, QueryRunner } from 'typeorm';

export class MarginDetailSubtraderIndex1795259502495 implements MigrationInterface {
  name = 'MarginDetailSubtraderIndex1795259502495';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "IDX_11f17bac6250570d0630c2d037" ON "klear_margin_detail"  ("obligation_id", "subtrader_id") `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_11f17bac6250570d0630c2d037"`);
  }
}
