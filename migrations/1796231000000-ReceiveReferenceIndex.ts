import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 18: GET /obligations works out each listed obligation's settled_by, which looks up Klear
 * receives by external_reference (a receive of another obligation disqualifies a balance entry).
 * Without an index that lookup read every receive ever pulled, once per candidate entry per listed
 * obligation: a cost growing with history on a hot route.
 */
export class ReceiveReferenceIndex1796231000000 implements MigrationInterface {
  name = 'ReceiveReferenceIndex1796231000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "IDX_klear_receive_external_reference" ON "klear_receive" ("external_reference")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_klear_receive_external_reference"`);
  }
}
