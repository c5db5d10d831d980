import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The live Klear API (docs/klear-api-contract.md, revision 2): obligations per asset class (rows already
 * held are Crypto, the only class before), position quantities, netted margin groups, funding
 * payments, settlement prices, member funding payments, subtrader group membership history and the
 * estimate's next runtime.
 */
export class KlearLiveApi1796209289599 implements MigrationInterface {
  name = 'KlearLiveApi1796209289599';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "klear_obligation" ADD "asset_class" text NOT NULL DEFAULT 'Crypto'`);
    await queryRunner.query(`ALTER TABLE "klear_obligation" ADD "funding_centicents" bigint NOT NULL DEFAULT '0'`);
    await queryRunner.query(`ALTER TABLE "klear_obligation" ADD "funding_payment_count" integer NOT NULL DEFAULT '0'`);
    await queryRunner.query(`ALTER TABLE "klear_obligation" ADD "completed_lists" text[] NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`CREATE INDEX "IDX_klear_obligation_asset_class" ON "klear_obligation" ("asset_class", "execution_time")`);
    await queryRunner.query(`ALTER TABLE "klear_obligation_version" ADD "asset_class" text NOT NULL DEFAULT 'Crypto'`);
    await queryRunner.query(`ALTER TABLE "klear_settlement_detail" ADD "position_quantity_fp" numeric`);
    await queryRunner.query(`ALTER TABLE "klear_margin_detail" ADD "margin_group_id" text`);
    await queryRunner.query(
      `CREATE TABLE "klear_funding_payment" ("obligation_id" text NOT NULL, "id" text NOT NULL, "market_ticker" text NOT NULL, "subtrader_id" text NOT NULL,
        "funding_time" TIMESTAMP WITH TIME ZONE NOT NULL, "position_quantity_fp" numeric NOT NULL, "notional_value_centicents" bigint NOT NULL,
        "funding_amount_centicents" bigint NOT NULL, CONSTRAINT "PK_klear_funding_payment" PRIMARY KEY ("obligation_id", "id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_klear_funding_payment_subtrader" ON "klear_funding_payment" ("obligation_id", "subtrader_id")`,
    );
    await queryRunner.query(`ALTER TABLE "klear_estimate_line" ADD "next_runtime" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(
      `CREATE TABLE "klear_settlement_price" ("asset_class" text NOT NULL, "settlement_time" TIMESTAMP WITH TIME ZONE NOT NULL, "market_ticker" text NOT NULL,
        "price_centicents" bigint NOT NULL, "first_pulled_at" TIMESTAMP WITH TIME ZONE NOT NULL, "archive_id" bigint NOT NULL,
        CONSTRAINT "PK_klear_settlement_price" PRIMARY KEY ("asset_class", "settlement_time", "market_ticker"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "klear_member_funding_payment" ("funding_time" TIMESTAMP WITH TIME ZONE NOT NULL, "market_ticker" text NOT NULL, "subtrader_id" text NOT NULL,
        "position_quantity_fp" numeric NOT NULL, "notional_value_centicents" bigint NOT NULL, "funding_amount_centicents" bigint NOT NULL,
        "first_pulled_at" TIMESTAMP WITH TIME ZONE NOT NULL, "archive_id" bigint NOT NULL,
        CONSTRAINT "PK_klear_member_funding_payment" PRIMARY KEY ("funding_time", "market_ticker", "subtrader_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "klear_subtrader_group_membership" ("id" BIGSERIAL NOT NULL, "group_id" text NOT NULL, "subtrader_id" text NOT NULL,
        "valid_from" TIMESTAMP WITH TIME ZONE NOT NULL, "valid_to" TIMESTAMP WITH TIME ZONE, "archive_id" bigint NOT NULL, "ended_archive_id" bigint,
        CONSTRAINT "PK_klear_subtrader_group_membership" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_klear_subtrader_group_membership_open" ON "klear_subtrader_group_membership" ("group_id", "subtrader_id") WHERE "valid_to" IS NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_klear_subtrader_group_membership_subtrader" ON "klear_subtrader_group_membership" ("subtrader_id", "valid_from")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "klear_subtrader_group_membership"`);
    await queryRunner.query(`DROP TABLE "klear_member_funding_payment"`);
    await queryRunner.query(`DROP TABLE "klear_settlement_price"`);
    await queryRunner.query(`ALTER TABLE "klear_estimate_line" DROP COLUMN "next_runtime"`);
    await queryRunner.query(`DROP TABLE "klear_funding_payment"`);
    await queryRunner.query(`ALTER TABLE "klear_margin_detail" DROP COLUMN "margin_group_id"`);
    await queryRunner.query(`ALTER TABLE "klear_settlement_detail" DROP COLUMN "position_quantity_fp"`);
    await queryRunner.query(`ALTER TABLE "klear_obligation_version" DROP COLUMN "asset_class"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_klear_obligation_asset_class"`);
    await queryRunner.query(`ALTER TABLE "klear_obligation" DROP COLUMN "completed_lists"`);
    await queryRunner.query(`ALTER TABLE "klear_obligation" DROP COLUMN "funding_payment_count"`);
    await queryRunner.query(`ALTER TABLE "klear_obligation" DROP COLUMN "funding_centicents"`);
    await queryRunner.query(`ALTER TABLE "klear_obligation" DROP COLUMN "asset_class"`);
  }
}
