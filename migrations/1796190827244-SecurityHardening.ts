import type { MigrationInterface, QueryRunner } from 'typeorm';

export class SecurityHardening1796190827244 implements MigrationInterface {
  name = 'SecurityHardening1796190827244';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "ledger_import_rejection" ("import_id" uuid NOT NULL, "ordinal" integer NOT NULL, "line" integer NOT NULL, "external_id" text, "code" text NOT NULL, "reason" text NOT NULL, CONSTRAINT "PK_3225aeba28c4868407d866c1a24" PRIMARY KEY ("import_id", "ordinal"))`,
    );
    await queryRunner.query(`ALTER TABLE "audit_log" ADD "mac" text`);
    await queryRunner.query(`ALTER TABLE "audit_log" ADD "mac_key_id" text`);
    await queryRunner.query(`ALTER TABLE "ledger_import" ADD "refusal_code" text`);
    await queryRunner.query(`ALTER TABLE "ledger_import" ALTER COLUMN "sha256" DROP NOT NULL`);
    await queryRunner.query(`ALTER TABLE "ledger_import" ALTER COLUMN "format" DROP NOT NULL`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "ledger_import" ALTER COLUMN "format" SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE "ledger_import" ALTER COLUMN "sha256" SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE "ledger_import" DROP COLUMN "refusal_code"`);
    await queryRunner.query(`ALTER TABLE "audit_log" DROP COLUMN "mac_key_id"`);
    await queryRunner.query(`ALTER TABLE "audit_log" DROP COLUMN "mac"`);
    await queryRunner.query(`DROP TABLE "ledger_import_rejection"`);
  }
}
