import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ReconciliationSummaries1795262514328 } from './1795262514328-ReconciliationSummaries';

const P1 = '2147483647';
const P2 = '2147483629';

/** One row's share of each fingerprint, and the summary's columns, from rows `d` (sign, pnl, fees, market) and keys k1, k2. */
export const FINGERPRINTS = (sign: string, k1: string, k2: string, d = 'd') => `
  recon_fingerprint_1_mod(sum(${sign}recon_fingerprint_1(${k1}, ${d}.market_ticker, ${d}.pnl_centicents, ${d}.fees_centicents))),
  recon_fingerprint_2_mod(sum(${sign}recon_fingerprint_2(${k2}, ${d}.market_ticker, ${d}.pnl_centicents, ${d}.fees_centicents)))`;

/** The ON CONFLICT assignments that add a statement's per-subtrader sums to a summary row `s`. */
export const ADD_UP = (sums: string[]) =>
  [
    ...sums.map((c) => `${c} = s.${c} + excluded.${c}`),
    ...['1', '2'].map((n) => `fingerprint_${n} = recon_fingerprint_${n}_mod(s.fingerprint_${n} + excluded.fingerprint_${n})`),
  ].join(',\n            ');

/** A ledger posting's figures with Klear's sign for fees ('' for postings without a subtrader or market). */
const LEDGER_TRADING_ROWS = (source: string) => `
  SELECT p.cycle, coalesce(p.subtrader_id, '') AS subtrader_id,
         CASE WHEN p.account = 'trading_pnl' THEN p.amount_centicents ELSE 0 END AS pnl_centicents,
         CASE WHEN p.account = 'trading_fees' THEN -p.amount_centicents ELSE 0 END AS fees_centicents,
         coalesce(p.market_ticker, '') AS market_ticker
    FROM ${source} p WHERE p.account IN ('trading_pnl', 'trading_fees') AND p.cycle IS NOT NULL`;

/**
 * Reconciliation correctness (issue #20) and the fingerprint key (issue #13):
 * - the reconciliation fingerprints are keyed with a secret generated here, per installation, in a
 *   table only the security-definer functions below read (the triggers and the recomputation); the
 *   primes live in one pair of functions used by the triggers and by runs alike;
 * - the Klear summary counts the details that contradict themselves (total <> pnl - fees);
 * - break keys are built from parts encoded by recon_key_part ('%' -> %25, '/' -> %2F);
 * - a write-off proposal records the difference it names; the rollup counts tolerated rows.
 */
export class ReconciliationCorrectness1796191177160 implements MigrationInterface {
  name = 'ReconciliationCorrectness1796191177160';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "recon_break" ADD "write_off_difference_centicents" bigint`);
    await queryRunner.query(`ALTER TABLE "recon_subtrader_rollup" ADD "tolerated_count" integer NOT NULL DEFAULT '0'`);
    await queryRunner.query(`ALTER TABLE "klear_settlement_summary" ADD "inconsistent_rows" bigint NOT NULL DEFAULT '0'`);

    await queryRunner.query(
      `CREATE FUNCTION recon_key_part(part text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT replace(replace(coalesce(part, ''), '%', '%25'), '/', '%2F') $$`,
    );

    // The key: two 64-bit halves of a SHA-256 of two random UUIDs (pg_strong_random), drawn once per installation.
    await queryRunner.query(
      `CREATE TABLE recon_fingerprint_key (id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1), key_1 bigint NOT NULL, key_2 bigint NOT NULL)`,
    );
    await queryRunner.query(`REVOKE ALL ON recon_fingerprint_key FROM PUBLIC`);
    await queryRunner.query(`INSERT INTO recon_fingerprint_key (key_1, key_2)
      SELECT ('x' || substr(h, 1, 16))::bit(64)::bigint, ('x' || substr(h, 17, 16))::bit(64)::bigint
        FROM (SELECT encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), 'hex') AS h) x`);

    // The pair of fingerprints: prime built in, key passed by the (security-definer) caller. Inlined by the planner.
    for (const [n, p] of [
      ['1', P1],
      ['2', P2],
    ]) {
      await queryRunner.query(`CREATE FUNCTION recon_fingerprint_${n}(fingerprint_key bigint, market text, pnl bigint, fees bigint) RETURNS bigint
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT recon_fingerprint_term(hashtextextended(market, fingerprint_key), pnl, fees, ${p}) $$`);
      await queryRunner.query(
        `CREATE FUNCTION recon_fingerprint_${n}_mod(x numeric) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT recon_fingerprint_reduce(x, ${p}) $$`,
      );
    }

    await queryRunner.query(`DROP VIEW klear_settlement_summary_recomputed`);
    await queryRunner.query(`DROP VIEW ledger_trading_summary_recomputed`);
    await queryRunner.query(`CREATE FUNCTION recon_klear_settlement_summary_recomputed() RETURNS SETOF klear_settlement_summary
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
      SELECT d.obligation_id, d.subtrader_id, count(*)::bigint, sum(d.pnl_centicents)::bigint, sum(d.fees_centicents)::bigint, sum(d.total_centicents)::bigint,
             ${FINGERPRINTS('', 'k.key_1', 'k.key_2')},
             count(*) FILTER (WHERE d.total_centicents <> d.pnl_centicents - d.fees_centicents)
        FROM klear_settlement_detail d CROSS JOIN recon_fingerprint_key k
       GROUP BY d.obligation_id, d.subtrader_id $$`);
    await queryRunner.query(`CREATE FUNCTION recon_ledger_trading_summary_recomputed() RETURNS SETOF ledger_trading_summary
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
      SELECT t.cycle, t.subtrader_id, count(*)::bigint, sum(t.pnl_centicents)::bigint, sum(t.fees_centicents)::bigint,
             ${FINGERPRINTS('', 'k.key_1', 'k.key_2', 't')}
        FROM (${LEDGER_TRADING_ROWS('journal_posting')}) t CROSS JOIN recon_fingerprint_key k
       GROUP BY t.cycle, t.subtrader_id $$`);

    // Klear details: each statement adds its new rows and subtracts its old ones, per (obligation, subtrader).
    await queryRunner.query(`CREATE OR REPLACE FUNCTION klear_settlement_summary_apply() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
      DECLARE source text; k1 bigint; k2 bigint;
      BEGIN
        SELECT key_1, key_2 INTO STRICT k1, k2 FROM recon_fingerprint_key;
        source := CASE TG_OP
          WHEN 'INSERT' THEN 'SELECT 1 AS sign, * FROM new_details'
          WHEN 'DELETE' THEN 'SELECT -1 AS sign, * FROM old_details'
          ELSE 'SELECT 1 AS sign, * FROM new_details UNION ALL SELECT -1, * FROM old_details' END;
        EXECUTE format($sql$
          INSERT INTO klear_settlement_summary AS s (obligation_id, subtrader_id, detail_rows, pnl_centicents, fees_centicents, total_centicents,
                                                     fingerprint_1, fingerprint_2, inconsistent_rows)
          SELECT d.obligation_id, d.subtrader_id, sum(d.sign), sum(d.sign * d.pnl_centicents), sum(d.sign * d.fees_centicents), sum(d.sign * d.total_centicents),
                 ${FINGERPRINTS('d.sign * ', '$1', '$2')},
                 sum(d.sign * (d.total_centicents <> d.pnl_centicents - d.fees_centicents)::int)
            FROM (%s) d
           GROUP BY d.obligation_id, d.subtrader_id
           ORDER BY d.obligation_id, d.subtrader_id
          ON CONFLICT (obligation_id, subtrader_id) DO UPDATE SET
            ${ADD_UP(['detail_rows', 'pnl_centicents', 'fees_centicents', 'total_centicents', 'inconsistent_rows'])}$sql$, source) USING k1, k2;
        IF TG_OP <> 'INSERT' THEN
          DELETE FROM klear_settlement_summary s USING (SELECT DISTINCT obligation_id, subtrader_id FROM old_details) o
           WHERE s.obligation_id = o.obligation_id AND s.subtrader_id = o.subtrader_id AND s.detail_rows = 0;
        END IF;
        RETURN NULL;
      END $fn$`);
    await queryRunner.query(`CREATE OR REPLACE FUNCTION klear_settlement_summary_truncate() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$ BEGIN DELETE FROM klear_settlement_summary; RETURN NULL; END $fn$`);
    await queryRunner.query(`CREATE OR REPLACE FUNCTION ledger_trading_summary_apply() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
      DECLARE k1 bigint; k2 bigint;
      BEGIN
        SELECT key_1, key_2 INTO STRICT k1, k2 FROM recon_fingerprint_key;
        INSERT INTO ledger_trading_summary AS s (cycle, subtrader_id, posting_count, pnl_centicents, fees_centicents, fingerprint_1, fingerprint_2)
        SELECT t.cycle, t.subtrader_id, count(*), sum(t.pnl_centicents), sum(t.fees_centicents), ${FINGERPRINTS('', 'k1', 'k2', 't')}
          FROM (${LEDGER_TRADING_ROWS('new_postings')}) t
         GROUP BY t.cycle, t.subtrader_id
         ORDER BY t.cycle, t.subtrader_id
        ON CONFLICT (cycle, subtrader_id) DO UPDATE SET
          ${ADD_UP(['posting_count', 'pnl_centicents', 'fees_centicents'])};
        RETURN NULL;
      END $fn$`);
    for (const f of [
      'recon_klear_settlement_summary_recomputed()',
      'recon_ledger_trading_summary_recomputed()',
      'klear_settlement_summary_apply()',
      'klear_settlement_summary_truncate()',
      'ledger_trading_summary_apply()',
    ]) {
      await queryRunner.query(`REVOKE ALL ON FUNCTION ${f} FROM PUBLIC`);
    }
    // Every existing summary again, under the new key (and with the inconsistent-row counts).
    await queryRunner.query(`LOCK TABLE klear_settlement_detail, journal_posting IN SHARE MODE`);
    await queryRunner.query(`DELETE FROM klear_settlement_summary`);
    await queryRunner.query(`DELETE FROM ledger_trading_summary`);
    await queryRunner.query(`INSERT INTO klear_settlement_summary SELECT * FROM recon_klear_settlement_summary_recomputed()`);
    await queryRunner.query(`INSERT INTO ledger_trading_summary SELECT * FROM recon_ledger_trading_summary_recomputed()`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // Back to the summaries of ReconciliationSummaries (public seeds): drop them whole and let it rebuild them.
    await queryRunner.query(`DROP TRIGGER journal_posting_trading_summary ON "journal_posting"`);
    for (const event of ['insert', 'update', 'delete', 'truncate']) {
      await queryRunner.query(`DROP TRIGGER klear_settlement_detail_summary_${event} ON "klear_settlement_detail"`);
    }
    await queryRunner.query(`DROP FUNCTION ledger_trading_summary_apply()`);
    await queryRunner.query(`DROP FUNCTION klear_settlement_summary_truncate()`);
    await queryRunner.query(`DROP FUNCTION klear_settlement_summary_apply()`);
    await queryRunner.query(`DROP FUNCTION recon_ledger_trading_summary_recomputed()`);
    await queryRunner.query(`DROP FUNCTION recon_klear_settlement_summary_recomputed()`);
    for (const n of ['1', '2']) {
      await queryRunner.query(`DROP FUNCTION recon_fingerprint_${n}_mod(numeric)`);
      await queryRunner.query(`DROP FUNCTION recon_fingerprint_${n}(bigint, text, bigint, bigint)`);
    }
    await queryRunner.query(`DROP FUNCTION recon_fingerprint_reduce(numeric, bigint)`);
    await queryRunner.query(`DROP FUNCTION recon_fingerprint_term(bigint, bigint, bigint, bigint)`);
    await queryRunner.query(`DROP TABLE recon_fingerprint_key`);
    await queryRunner.query(`DROP TABLE "ledger_trading_summary"`);
    await queryRunner.query(`DROP TABLE "klear_settlement_summary"`);
    await queryRunner.query(`DROP FUNCTION recon_key_part(text)`);
    await queryRunner.query(`ALTER TABLE "recon_subtrader_rollup" DROP COLUMN "tolerated_count"`);
    await queryRunner.query(`ALTER TABLE "recon_break" DROP COLUMN "write_off_difference_centicents"`);
    await new ReconciliationSummaries1795262514328().up(queryRunner);
  }
}
