import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ADD_UP, FINGERPRINTS } from './1796191177160-ReconciliationCorrectness';

/** A ledger posting's figures with Klear's sign for fees, with its asset class ('' for postings without a subtrader or market). */
const LEDGER_TRADING_ROWS = (source: string) => `
  SELECT p.cycle, p.asset_class, coalesce(p.subtrader_id, '') AS subtrader_id,
         CASE WHEN p.account = 'trading_pnl' THEN p.amount_centicents ELSE 0 END AS pnl_centicents,
         CASE WHEN p.account = 'trading_fees' THEN -p.amount_centicents ELSE 0 END AS fees_centicents,
         coalesce(p.market_ticker, '') AS market_ticker
    FROM ${source} p WHERE p.account IN ('trading_pnl', 'trading_fees') AND p.cycle IS NOT NULL`;

/**
 * Every reconciliation run is per asset class (issue 15): Klear settles each asset class on its own
 * obligation, so the ledger's entries say the asset class they book (absent: Crypto, the only class
 * before), the trading summary is kept per (cycle, asset class, subtrader), and a run's scope, its
 * breaks' identity and its explainability assertions are per asset class. Rows already held are
 * Crypto: cycle scopes `cycle/{cycle}` become `cycle/{cycle}/Crypto`.
 */
export class AssetClassRuns1796228000000 implements MigrationInterface {
  name = 'AssetClassRuns1796228000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "journal_entry" ADD "asset_class" text NOT NULL DEFAULT 'Crypto'`);
    await queryRunner.query(`ALTER TABLE "journal_posting" ADD "asset_class" text NOT NULL DEFAULT 'Crypto'`);
    await queryRunner.query(`ALTER TABLE "recon_run" ADD "asset_class" text`);
    await queryRunner.query(`ALTER TABLE "recon_break" ADD "asset_class" text`);
    await queryRunner.query(`UPDATE "recon_run" SET asset_class = 'Crypto', scope_key = scope_key || '/Crypto' WHERE scope = 'cycle'`);
    await queryRunner.query(
      `UPDATE "recon_break" SET asset_class = 'Crypto', scope_key = scope_key || '/Crypto' WHERE scope_key LIKE 'cycle/%'`,
    );
    await queryRunner.query(`CREATE INDEX "IDX_recon_break_asset_class" ON "recon_break" ("asset_class", "status")`);

    await queryRunner.query(`LOCK TABLE journal_posting IN SHARE MODE`);
    await queryRunner.query(`ALTER TABLE "ledger_trading_summary" ADD "asset_class" text NOT NULL DEFAULT 'Crypto'`);
    await queryRunner.query(`ALTER TABLE "ledger_trading_summary" DROP CONSTRAINT "PK_fbcd16161b5fb160c547e5cfb83"`);
    await queryRunner.query(
      `ALTER TABLE "ledger_trading_summary" ADD CONSTRAINT "PK_ledger_trading_summary" PRIMARY KEY ("cycle", "asset_class", "subtrader_id")`,
    );
    await this.summaryFunctions(queryRunner, true);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`LOCK TABLE journal_posting IN SHARE MODE`);
    await queryRunner.query(`DELETE FROM ledger_trading_summary`);
    await queryRunner.query(`ALTER TABLE "ledger_trading_summary" DROP CONSTRAINT "PK_ledger_trading_summary"`);
    await queryRunner.query(`ALTER TABLE "ledger_trading_summary" DROP COLUMN "asset_class"`);
    await queryRunner.query(
      `ALTER TABLE "ledger_trading_summary" ADD CONSTRAINT "PK_fbcd16161b5fb160c547e5cfb83" PRIMARY KEY ("cycle", "subtrader_id")`,
    );
    await this.summaryFunctions(queryRunner, false);
    await queryRunner.query(`DROP INDEX "public"."IDX_recon_break_asset_class"`);
    await queryRunner.query(`DELETE FROM "recon_break" WHERE asset_class IS NOT NULL AND asset_class <> 'Crypto'`);
    await queryRunner.query(`UPDATE "recon_break" SET scope_key = regexp_replace(scope_key, '/Crypto$', '') WHERE asset_class = 'Crypto'`);
    await queryRunner.query(`UPDATE "recon_run" SET scope_key = regexp_replace(scope_key, '/[A-Za-z0-9_]+$', '') WHERE scope = 'cycle'`);
    await queryRunner.query(`ALTER TABLE "recon_break" DROP COLUMN "asset_class"`);
    await queryRunner.query(`ALTER TABLE "recon_run" DROP COLUMN "asset_class"`);
    await queryRunner.query(`ALTER TABLE "journal_posting" DROP COLUMN "asset_class"`);
    await queryRunner.query(`ALTER TABLE "journal_entry" DROP COLUMN "asset_class"`);
  }

  /** The trigger and the recomputation per (cycle, asset class, subtrader) (or per (cycle, subtrader) going down), then every summary again. */
  private async summaryFunctions(queryRunner: QueryRunner, perAssetClass: boolean): Promise<void> {
    const key = perAssetClass ? 't.cycle, t.asset_class, t.subtrader_id' : 't.cycle, t.subtrader_id';
    const rows = perAssetClass ? LEDGER_TRADING_ROWS('%s') : LEDGER_TRADING_ROWS('%s').replace('p.asset_class, ', '');
    await queryRunner.query(`CREATE OR REPLACE FUNCTION recon_ledger_trading_summary_recomputed() RETURNS SETOF ledger_trading_summary
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
      SELECT t.cycle, t.subtrader_id, count(*)::bigint, sum(t.pnl_centicents)::bigint, sum(t.fees_centicents)::bigint,
             ${FINGERPRINTS('', 'k.key_1', 'k.key_2', 't')}${perAssetClass ? ', t.asset_class' : ''}
        FROM (${rows.replace('%s', 'journal_posting')}) t CROSS JOIN recon_fingerprint_key k
       GROUP BY ${key} $$`);
    await queryRunner.query(`CREATE OR REPLACE FUNCTION ledger_trading_summary_apply() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
      DECLARE k1 bigint; k2 bigint;
      BEGIN
        SELECT key_1, key_2 INTO STRICT k1, k2 FROM recon_fingerprint_key;
        INSERT INTO ledger_trading_summary AS s (cycle, ${perAssetClass ? 'asset_class, ' : ''}subtrader_id, posting_count, pnl_centicents, fees_centicents, fingerprint_1, fingerprint_2)
        SELECT ${key}, count(*), sum(t.pnl_centicents), sum(t.fees_centicents), ${FINGERPRINTS('', 'k1', 'k2', 't')}
          FROM (${rows.replace('%s', 'new_postings')}) t
         GROUP BY ${key}
         ORDER BY ${key}
        ON CONFLICT (${key.replaceAll('t.', '')}) DO UPDATE SET
          ${ADD_UP(['posting_count', 'pnl_centicents', 'fees_centicents'])};
        RETURN NULL;
      END $fn$`);
    await queryRunner.query(`DELETE FROM ledger_trading_summary`);
    await queryRunner.query(`INSERT INTO ledger_trading_summary SELECT * FROM recon_ledger_trading_summary_recomputed()`);
  }
}
