import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Reconciliation1795255967925 implements MigrationInterface {
  name = 'Reconciliation1795255967925';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "recon_break" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "scope_key" text NOT NULL, "break_key" text NOT NULL, "check" text NOT NULL, "cycle" TIMESTAMP WITH TIME ZONE, "subtrader_id" text, "market_ticker" text, "reference" text, "reason_code" text NOT NULL, "klear_value_centicents" bigint, "internal_value_centicents" bigint, "difference_centicents" bigint NOT NULL, "pnl_difference_centicents" bigint, "fees_difference_centicents" bigint, "status" text NOT NULL, "first_seen_run" bigint NOT NULL, "last_seen_run" bigint NOT NULL, "closed_by_run" bigint, "assignee" text, "resolution_reason" text, "resolution_reference" text, "resolution_note" text, "resolved_by" text, "resolved_by_user_id" uuid, "cosigned_by" text, "resolved_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_7d58cca177b9d07799a5c748948" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_d4900c6f2542f374ff7ae1528d" ON "recon_break"  ("scope_key", "status") `);
    await queryRunner.query(`CREATE INDEX "IDX_b60508d5e1a333306c842015a3" ON "recon_break"  ("status", "id") `);
    await queryRunner.query(`CREATE UNIQUE INDEX "IDX_8bf7bf16da861b799912da11d4" ON "recon_break"  ("scope_key", "break_key") `);
    await queryRunner.query(
      `CREATE TABLE "recon_break_observation" ("run_id" bigint NOT NULL, "ordinal" integer NOT NULL, "break_id" bigint NOT NULL, "break_key" text NOT NULL, "check" text NOT NULL, "subtrader_id" text, "reason_code" text NOT NULL, "klear_value_centicents" bigint, "internal_value_centicents" bigint, "difference_centicents" bigint NOT NULL, "pnl_difference_centicents" bigint, "fees_difference_centicents" bigint, "klear_rows" jsonb NOT NULL, "internal_rows" jsonb NOT NULL, CONSTRAINT "PK_c4664f79b1c40be43c7703a669c" PRIMARY KEY ("run_id", "ordinal"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_2e733cb843ec5c00c180cc45c3" ON "recon_break_observation"  ("break_id", "run_id") `);
    await queryRunner.query(`CREATE INDEX "IDX_1be4fca09ca5c95b11769a9733" ON "recon_break_observation"  ("run_id", "check", "ordinal") `);
    await queryRunner.query(
      `CREATE INDEX "IDX_adcd7ccd223e2b811660df93c0" ON "recon_break_observation"  ("run_id", "subtrader_id", "ordinal") `,
    );
    await queryRunner.query(
      `CREATE TABLE "recon_break_comment" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "break_id" bigint NOT NULL, "author" text NOT NULL, "body" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_59424df273646a102dfb258d57d" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_88d5baaa7d8c0dffdfec147e68" ON "recon_break_comment"  ("break_id", "id") `);
    await queryRunner.query(
      `CREATE TABLE "recon_run" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "scope" text NOT NULL, "scope_key" text NOT NULL, "cycle" TIMESTAMP WITH TIME ZONE, "inputs" jsonb NOT NULL, "inputs_sha256" text NOT NULL, "status" text NOT NULL, "started_at" TIMESTAMP WITH TIME ZONE NOT NULL, "finished_at" TIMESTAMP WITH TIME ZONE, "break_count" integer NOT NULL DEFAULT '0', "summary" jsonb, "error" text, "created_by" text NOT NULL, CONSTRAINT "PK_bb809696aa66ac2ba5d7c05ce8d" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_5f887d0dafcc1879d71ed65f10" ON "recon_run"  ("scope_key", "inputs_sha256") `);
    await queryRunner.query(`CREATE INDEX "IDX_69a52a397e413d067f3c3ae952" ON "recon_run"  ("scope_key", "id") `);
    await queryRunner.query(
      `CREATE TABLE "recon_subtrader_rollup" ("run_id" bigint NOT NULL, "subtrader_id" text NOT NULL, "klear_total_centicents" bigint NOT NULL, "internal_total_centicents" bigint NOT NULL, "break_difference_centicents" bigint NOT NULL, "tolerated_difference_centicents" bigint NOT NULL, "break_count" integer NOT NULL, CONSTRAINT "PK_eb5e80473a2e37506ee8fec1688" PRIMARY KEY ("run_id", "subtrader_id"))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "recon_subtrader_rollup"`);
    await queryRunner.query(`DROP TABLE "recon_run"`);
    await queryRunner.query(`DROP TABLE "recon_break_comment"`);
    await queryRunner.query(`DROP TABLE "recon_break_observation"`);
    await queryRunner.query(`DROP TABLE "recon_break"`);
  }
}
