import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ReconciliationSummaries1795262514328 implements MigrationInterface {
  name = 'ReconciliationSummaries1795262514328';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "klear_settlement_summary" ("obligation_id" text NOT NULL, "subtrader_id" text NOT NULL, "detail_rows" bigint NOT NULL, "pnl_centicents" bigint NOT NULL, "fees_centicents" bigint NOT NULL, "total_centicents" bigint NOT NULL, "fingerprint_1" bigint NOT NULL, "fingerprint_2" bigint NOT NULL, CONSTRAINT "PK_7ca13c4a6b1b3e1319b2535be99" PRIMARY KEY ("obligation_id", "subtrader_id"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "ledger_trading_summary" ("cycle" TIMESTAMP WITH TIME ZONE NOT NULL, "subtrader_id" text NOT NULL, "posting_count" bigint NOT NULL, "pnl_centicents" bigint NOT NULL, "fees_centicents" bigint NOT NULL, "fingerprint_1" bigint NOT NULL, "fingerprint_2" bigint NOT NULL, CONSTRAINT "PK_fbcd16161b5fb160c547e5cfb83" PRIMARY KEY ("cycle", "subtrader_id"))`,
    );
    // One row's term of a fingerprint: (pnl mod p) * w_pnl + (fees mod p) * w_fees, the weights being
    // two 31-bit halves of a hash of the market ticker. Below 2^63 by construction; inlined by the planner.
    await queryRunner.query(
      `CREATE FUNCTION recon_fingerprint_term(h bigint, pnl bigint, fees bigint, p bigint) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (pnl % p) * ((h & 2147483647) % p) + (fees % p) * (((h >> 32) & 2147483647) % p) $$`,
    );
    await queryRunner.query(
      `CREATE FUNCTION recon_fingerprint_reduce(x numeric, p bigint) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT mod(mod(x, p) + p, p)::bigint $$`,
    );
    // What the summaries must hold, computed from the source rows (backfill, recon:verify-summaries).
    await queryRunner.query(`CREATE VIEW klear_settlement_summary_recomputed AS
      SELECT d.obligation_id, d.subtrader_id, count(*)::bigint AS detail_rows,
             sum(d.pnl_centicents)::bigint AS pnl_centicents, sum(d.fees_centicents)::bigint AS fees_centicents, sum(d.total_centicents)::bigint AS total_centicents,
             recon_fingerprint_reduce(sum(recon_fingerprint_term(hashtextextended(d.market_ticker, 1), d.pnl_centicents, d.fees_centicents, 2147483647)), 2147483647) AS fingerprint_1,
             recon_fingerprint_reduce(sum(recon_fingerprint_term(hashtextextended(d.market_ticker, 2), d.pnl_centicents, d.fees_centicents, 2147483629)), 2147483629) AS fingerprint_2
        FROM klear_settlement_detail d GROUP BY d.obligation_id, d.subtrader_id`);
    await queryRunner.query(`CREATE VIEW ledger_trading_summary_recomputed AS
      SELECT t.cycle, t.subtrader_id, count(*)::bigint AS posting_count, sum(t.pnl_centicents)::bigint AS pnl_centicents, sum(t.fees_centicents)::bigint AS fees_centicents,
             recon_fingerprint_reduce(sum(recon_fingerprint_term(hashtextextended(t.market_ticker, 1), t.pnl_centicents, t.fees_centicents, 2147483647)), 2147483647) AS fingerprint_1,
             recon_fingerprint_reduce(sum(recon_fingerprint_term(hashtextextended(t.market_ticker, 2), t.pnl_centicents, t.fees_centicents, 2147483629)), 2147483629) AS fingerprint_2
        FROM (SELECT p.cycle, coalesce(p.subtrader_id, '') AS subtrader_id,
                     CASE WHEN p.account = 'trading_pnl' THEN p.amount_centicents ELSE 0 END AS pnl_centicents,
                     CASE WHEN p.account = 'trading_fees' THEN -p.amount_centicents ELSE 0 END AS fees_centicents,
                     coalesce(p.market_ticker, '') AS market_ticker
                FROM journal_posting p WHERE p.account IN ('trading_pnl', 'trading_fees') AND p.cycle IS NOT NULL) t
       GROUP BY t.cycle, t.subtrader_id`);
    // Klear details change by INSERT (COPY included), UPDATE (a changed obligation) and DELETE: each
    // statement adds its new rows and subtracts its old ones, per (obligation, subtrader), in key order.
    await queryRunner.query(`CREATE FUNCTION klear_settlement_summary_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
      DECLARE source text;
      BEGIN
        source := CASE TG_OP
          WHEN 'INSERT' THEN 'SELECT 1 AS sign, * FROM new_details'
          WHEN 'DELETE' THEN 'SELECT -1 AS sign, * FROM old_details'
          ELSE 'SELECT 1 AS sign, * FROM new_details UNION ALL SELECT -1, * FROM old_details' END;
        EXECUTE format($sql$
          INSERT INTO klear_settlement_summary AS s (obligation_id, subtrader_id, detail_rows, pnl_centicents, fees_centicents, total_centicents, fingerprint_1, fingerprint_2)
          SELECT d.obligation_id, d.subtrader_id, sum(d.sign), sum(d.sign * d.pnl_centicents), sum(d.sign * d.fees_centicents), sum(d.sign * d.total_centicents),
                 recon_fingerprint_reduce(sum(d.sign * recon_fingerprint_term(hashtextextended(d.market_ticker, 1), d.pnl_centicents, d.fees_centicents, 2147483647)), 2147483647),
                 recon_fingerprint_reduce(sum(d.sign * recon_fingerprint_term(hashtextextended(d.market_ticker, 2), d.pnl_centicents, d.fees_centicents, 2147483629)), 2147483629)
            FROM (%s) d
           GROUP BY d.obligation_id, d.subtrader_id
           ORDER BY d.obligation_id, d.subtrader_id
          ON CONFLICT (obligation_id, subtrader_id) DO UPDATE SET
            detail_rows = s.detail_rows + excluded.detail_rows,
            pnl_centicents = s.pnl_centicents + excluded.pnl_centicents,
            fees_centicents = s.fees_centicents + excluded.fees_centicents,
            total_centicents = s.total_centicents + excluded.total_centicents,
            fingerprint_1 = mod(s.fingerprint_1 + excluded.fingerprint_1, 2147483647),
            fingerprint_2 = mod(s.fingerprint_2 + excluded.fingerprint_2, 2147483629)$sql$, source);
        IF TG_OP <> 'INSERT' THEN
          DELETE FROM klear_settlement_summary s USING (SELECT DISTINCT obligation_id, subtrader_id FROM old_details) o
           WHERE s.obligation_id = o.obligation_id AND s.subtrader_id = o.subtrader_id AND s.detail_rows = 0;
        END IF;
        RETURN NULL;
      END $fn$`);
    await queryRunner.query(
      `CREATE TRIGGER klear_settlement_detail_summary_insert AFTER INSERT ON "klear_settlement_detail" REFERENCING NEW TABLE AS new_details FOR EACH STATEMENT EXECUTE FUNCTION klear_settlement_summary_apply()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER klear_settlement_detail_summary_update AFTER UPDATE ON "klear_settlement_detail" REFERENCING OLD TABLE AS old_details NEW TABLE AS new_details FOR EACH STATEMENT EXECUTE FUNCTION klear_settlement_summary_apply()`,
    );
    await queryRunner.query(
      `CREATE TRIGGER klear_settlement_detail_summary_delete AFTER DELETE ON "klear_settlement_detail" REFERENCING OLD TABLE AS old_details FOR EACH STATEMENT EXECUTE FUNCTION klear_settlement_summary_apply()`,
    );
    await queryRunner.query(
      `CREATE FUNCTION klear_settlement_summary_truncate() RETURNS trigger LANGUAGE plpgsql AS $fn$ BEGIN DELETE FROM klear_settlement_summary; RETURN NULL; END $fn$`,
    );
    await queryRunner.query(
      `CREATE TRIGGER klear_settlement_detail_summary_truncate AFTER TRUNCATE ON "klear_settlement_detail" FOR EACH STATEMENT EXECUTE FUNCTION klear_settlement_summary_truncate()`,
    );
    // Postings are insert-only (UPDATE, DELETE and TRUNCATE are refused): one trigger suffices.
    await queryRunner.query(`CREATE FUNCTION ledger_trading_summary_apply() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        INSERT INTO ledger_trading_summary AS s (cycle, subtrader_id, posting_count, pnl_centicents, fees_centicents, fingerprint_1, fingerprint_2)
        SELECT t.cycle, t.subtrader_id, count(*), sum(t.pnl_centicents), sum(t.fees_centicents),
               recon_fingerprint_reduce(sum(recon_fingerprint_term(hashtextextended(t.market_ticker, 1), t.pnl_centicents, t.fees_centicents, 2147483647)), 2147483647),
               recon_fingerprint_reduce(sum(recon_fingerprint_term(hashtextextended(t.market_ticker, 2), t.pnl_centicents, t.fees_centicents, 2147483629)), 2147483629)
          FROM (SELECT p.cycle, coalesce(p.subtrader_id, '') AS subtrader_id,
                       CASE WHEN p.account = 'trading_pnl' THEN p.amount_centicents ELSE 0 END AS pnl_centicents,
                       CASE WHEN p.account = 'trading_fees' THEN -p.amount_centicents ELSE 0 END AS fees_centicents,
                       coalesce(p.market_ticker, '') AS market_ticker
                  FROM new_postings p WHERE p.account IN ('trading_pnl', 'trading_fees') AND p.cycle IS NOT NULL) t
         GROUP BY t.cycle, t.subtrader_id
         ORDER BY t.cycle, t.subtrader_id
        ON CONFLICT (cycle, subtrader_id) DO UPDATE SET
          posting_count = s.posting_count + excluded.posting_count,
          pnl_centicents = s.pnl_centicents + excluded.pnl_centicents,
          fees_centicents = s.fees_centicents + excluded.fees_centicents,
          fingerprint_1 = mod(s.fingerprint_1 + excluded.fingerprint_1, 2147483647),
          fingerprint_2 = mod(s.fingerprint_2 + excluded.fingerprint_2, 2147483629);
        RETURN NULL;
      END $fn$`);
    await queryRunner.query(
      `CREATE TRIGGER journal_posting_trading_summary AFTER INSERT ON "journal_posting" REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION ledger_trading_summary_apply()`,
    );
    // Existing rows.
    await queryRunner.query(`INSERT INTO klear_settlement_summary SELECT * FROM klear_settlement_summary_recomputed`);
    await queryRunner.query(`INSERT INTO ledger_trading_summary SELECT * FROM ledger_trading_summary_recomputed`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER journal_posting_trading_summary ON "journal_posting"`);
    await queryRunner.query(`DROP FUNCTION ledger_trading_summary_apply()`);
    for (const event of ['insert', 'update', 'delete', 'truncate']) {
      await queryRunner.query(`DROP TRIGGER klear_settlement_detail_summary_${event} ON "klear_settlement_detail"`);
    }
    await queryRunner.query(`DROP FUNCTION klear_settlement_summary_truncate()`);
    await queryRunner.query(`DROP FUNCTION klear_settlement_summary_apply()`);
    await queryRunner.query(`DROP VIEW ledger_trading_summary_recomputed`);
    await queryRunner.query(`DROP VIEW klear_settlement_summary_recomputed`);
    await queryRunner.query(`DROP FUNCTION recon_fingerprint_reduce(numeric, bigint)`);
    await queryRunner.query(`DROP FUNCTION recon_fingerprint_term(bigint, bigint, bigint, bigint)`);
    await queryRunner.query(`DROP TABLE "ledger_trading_summary"`);
    await queryRunner.query(`DROP TABLE "klear_settlement_summary"`);
  }
}
