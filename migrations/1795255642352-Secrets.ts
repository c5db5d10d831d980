import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Secrets1795255642352 implements MigrationInterface {
  name = 'Secrets1795255642352';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "stored_secret" ("name" text NOT NULL, "key_id" text NOT NULL, "sealed" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_f2c3e35d6034506adedcec41c46" PRIMARY KEY ("name"))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "stored_secret"`);
  }
}
