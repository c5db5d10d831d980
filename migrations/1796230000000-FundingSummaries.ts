import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ADD_UP } from './1796191177160-ReconciliationCorrectness';

/** One funding row's share of each keyed fingerprint: its amount weighted by its market (as PnL, no fees), from rows `d`. */
const FUNDING_FINGERPRINTS = (sign: string, k1: string, k2: string, amount: string, d = 'd') => `
  recon_fingerprint_1_mod(sum(${sign}recon_fingerprint_1(${k1}, ${d}.market_ticker, ${d}.${amount}, 0))),
  recon_fingerprint_2_mod(sum(${sign}recon_fingerprint_2(${k2}, ${d}.market_ticker, ${d}.${amount}, 0)))`;

/** The ledger's funding postings the funding check reads: a cycle, a subtrader, the class; market '' when absent. */
const LEDGER_FUNDING_ROWS = (source: string) => `
  SELECT p.cycle, p.asset_class, p.subtrader_id, p.amount_centicents, coalesce(p.market_ticker, '') AS market_ticker
    FROM ${source} p WHERE p.account = 'funding' AND p.cycle IS NOT NULL AND p.subtrader_id IS NOT NULL`;

/**
 * Maintained summaries for the funding check (issue 15), as the settlement-details check has
 * (migrations ReconciliationSummaries, ReconciliationCorrectness, AssetClassRuns): Klear's funding
 * payments per (obligation, subtrader) and the ledger's `funding` postings per (cycle, asset class,
 * subtrader), each with its count, sum and the two keyed fingerprints of its per-market figures,
 * kept by statement-level triggers in the writer's transaction. A run compares these and examines
 * market by market only the subtraders whose summaries differ, instead of joining every funding
 * payment and posting of the cycle. The fingerprint key stays with the security-definer functions.
 */
export class FundingSummaries1796230000000 implements MigrationInterface {
  name = 'FundingSummaries1796230000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "klear_funding_summary" ("obligation_id" text NOT NULL, "subtrader_id" text NOT NULL, "payment_count" bigint NOT NULL,
      "funding_centicents" bigint NOT NULL, "fingerprint_1" bigint NOT NULL, "fingerprint_2" bigint NOT NULL,
      CONSTRAINT "PK_klear_funding_summary" PRIMARY KEY ("obligation_id", "subtrader_id"))`);
    await queryRunner.query(`CREATE TABLE "ledger_funding_summary" ("cycle" TIMESTAMP WITH TIME ZONE NOT NULL, "asset_class" text NOT NULL, "subtrader_id" text NOT NULL,
      "posting_count" bigint NOT NULL, "funding_centicents" bigint NOT NULL, "fingerprint_1" bigint NOT NULL, "fingerprint_2" bigint NOT NULL,
      CONSTRAINT "PK_ledger_funding_summary" PRIMARY KEY ("cycle", "asset_class", "subtrader_id"))`);

    // What the summaries must hold, from the source rows (backfill, recon:verify-summaries, recon:rebuild-summaries).
    await queryRunner.query(`CREATE FUNCTION recon_klear_funding_summary_recomputed() RETURNS SETOF klear_funding_summary
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
      SELECT d.obligation_id, d.subtrader_id, count(*)::bigint, sum(d.funding_amount_centicents)::bigint,
             ${FUNDING_FINGERPRINTS('', 'k.key_1', 'k.key_2', 'funding_amount_centicents')}
        FROM klear_funding_payment d CROSS JOIN recon_fingerprint_key k
       GROUP BY d.obligation_id, d.subtrader_id $$`);
    await queryRunner.query(`CREATE FUNCTION recon_ledger_funding_summary_recomputed() RETURNS SETOF ledger_funding_summary
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
      SELECT t.cycle, t.asset_class, t.subtrader_id, count(*)::bigint, sum(t.amount_centicents)::bigint,
             ${FUNDING_FINGERPRINTS('', 'k.key_1', 'k.key_2', 'amount_centicents', 't')}
        FROM (${LEDGER_FUNDING_ROWS('journal_posting')}) t CROSS JOIN recon_fingerprint_key k
       GROUP BY t.cycle, t.asset_class, t.subtrader_id $$`);

    // Klear's funding payments change by INSERT, UPDATE (a changed obligation) and DELETE: each statement adds its new rows and subtracts its old ones.
    await queryRunner.query(`CREATE FUNCTION klear_funding_summary_apply() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
      DECLARE source text; k1 bigint; k2 bigint;
      BEGIN
        SELECT key_1, key_2 INTO STRICT k1, k2 FROM recon_fingerprint_key;
        source := CASE TG_OP
          WHEN 'INSERT' THEN 'SELECT 1 AS sign, * FROM new_payments'
          WHEN 'DELETE' THEN 'SELECT -1 AS sign, * FROM old_payments'
          ELSE 'SELECT 1 AS sign, * FROM new_payments UNION ALL SELECT -1, * FROM old_payments' END;
        EXECUTE format($sql$
          INSERT INTO klear_funding_summary AS s (obligation_id, subtrader_id, payment_count, funding_centicents, fingerprint_1, fingerprint_2)
          SELECT d.obligation_id, d.subtrader_id, sum(d.sign), sum(d.sign * d.funding_amount_centicents),
                 ${FUNDING_FINGERPRINTS('d.sign * ', '$1', '$2', 'funding_amount_centicents')}
            FROM (%s) d
           GROUP BY d.obligation_id, d.subtrader_id
           ORDER BY d.obligation_id, d.subtrader_id
          ON CONFLICT (obligation_id, subtrader_id) DO UPDATE SET
            ${ADD_UP(['payment_count', 'funding_centicents'])}$sql$, source) USING k1, k2;
        IF TG_OP <> 'INSERT' THEN
          DELETE FROM klear_funding_summary s USING (SELECT DISTINCT obligation_id, subtrader_id FROM old_payments) o
           WHERE s.obligation_id = o.obligation_id AND s.subtrader_id = o.subtrader_id AND s.payment_count = 0;
        END IF;
        RETURN NULL;
      END $fn$`);
    await queryRunner.query(`CREATE FUNCTION klear_funding_summary_truncate() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$ BEGIN DELETE FROM klear_funding_summary; RETURN NULL; END $fn$`);
    // Postings are insert-only (UPDATE, DELETE and TRUNCATE are refused): one trigger suffices.
    await queryRunner.query(`CREATE FUNCTION ledger_funding_summary_apply() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
      DECLARE k1 bigint; k2 bigint;
      BEGIN
        SELECT key_1, key_2 INTO STRICT k1, k2 FROM recon_fingerprint_key;
        INSERT INTO ledger_funding_summary AS s (cycle, asset_class, subtrader_id, posting_count, funding_centicents, fingerprint_1, fingerprint_2)
        SELECT t.cycle, t.asset_class, t.subtrader_id, count(*), sum(t.amount_centicents), ${FUNDING_FINGERPRINTS('', 'k1', 'k2', 'amount_centicents', 't')}
          FROM (${LEDGER_FUNDING_ROWS('new_postings')}) t
         GROUP BY t.cycle, t.asset_class, t.subtrader_id
         ORDER BY t.cycle, t.asset_class, t.subtrader_id
        ON CONFLICT (cycle, asset_class, subtrader_id) DO UPDATE SET
          ${ADD_UP(['posting_count', 'funding_centicents'])};
        RETURN NULL;
      END $fn$`);
    for (const f of [
      'recon_klear_funding_summary_recomputed()',
      'recon_ledger_funding_summary_recomputed()',
      'klear_funding_summary_apply()',
      'klear_funding_summary_truncate()',
      'ledger_funding_summary_apply()',
    ]) {
      await queryRunner.query(`REVOKE ALL ON FUNCTION ${f} FROM PUBLIC`);
    }
    await queryRunner.query(
      `CREATE TRIGGER klear_funding_payment_summary_insert AFTER INSERT ON "klear_funding_payment" REFERENCING NEW TABLE AS new_payments FOR EACH STATEMENT EXECUTE FUNCTION klear_funding_summary_apply()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER klear_funding_payment_summary_update AFTER UPDATE ON "klear_funding_payment" REFERENCING OLD TABLE AS old_payments NEW TABLE AS new_payments FOR EACH STATEMENT EXECUTE FUNCTION klear_funding_summary_apply()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER klear_funding_payment_summary_delete AFTER DELETE ON "klear_funding_payment" REFERENCING OLD TABLE AS old_payments FOR EACH STATEMENT EXECUTE FUNCTION klear_funding_summary_apply()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER klear_funding_payment_summary_truncate AFTER TRUNCATE ON "klear_funding_payment" FOR EACH STATEMENT EXECUTE FUNCTION klear_funding_summary_truncate()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER journal_posting_funding_summary AFTER INSERT ON "journal_posting" REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION ledger_funding_summary_apply()`,
    );

    // The rows already held, writers held off meanwhile.
    await queryRunner.query(`LOCK TABLE klear_funding_payment, journal_posting IN SHARE MODE`);
    await queryRunner.query(`INSERT INTO klear_funding_summary SELECT * FROM recon_klear_funding_summary_recomputed()`);
    await queryRunner.query(`INSERT INTO ledger_funding_summary SELECT * FROM recon_ledger_funding_summary_recomputed()`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER journal_posting_funding_summary ON "journal_posting"`);
    for (const event of ['insert', 'update', 'delete', 'truncate']) {
      await queryRunner.query(`DROP TRIGGER klear_funding_payment_summary_${event} ON "klear_funding_payment"`);
    }
    await queryRunner.query(`DROP FUNCTION ledger_funding_summary_apply()`);
    await queryRunner.query(`DROP FUNCTION klear_funding_summary_truncate()`);
    await queryRunner.query(`DROP FUNCTION klear_funding_summary_apply()`);
    await queryRunner.query(`DROP FUNCTION recon_ledger_funding_summary_recomputed()`);
    await queryRunner.query(`DROP FUNCTION recon_klear_funding_summary_recomputed()`);
    await queryRunner.query(`DROP TABLE "ledger_funding_summary"`);
    await queryRunner.query(`DROP TABLE "klear_funding_summary"`);
  }
}
