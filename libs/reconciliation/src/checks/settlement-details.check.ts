import { ExplainabilityViolated } from '../reconciliation-errors';
import { CREATE_SETTLEMENT_SUBTRADER_TABLE_SQL } from '../sql/found-table.sql';
import { breakKeySql } from '../sql/keys';
import type { CheckSql, CycleContext, ReconCheck } from './check';

/*
 * Settlement details of one cycle (docs/ledger-and-breaks.md): Klear's per-(subtrader, market) PnL
 * and fees against the ledger's, within one asset class. Parameters of the statements: $1 cycle,
 * $2 ledger high-water mark, $3 obligation ids (the class's), $4 asset class, then as stated.
 */

/**
 * Per subtrader, from the summaries the source tables' triggers maintain (klear_settlement_summary,
 * ledger_trading_summary: 10,000 rows where the details are 1,000,000): both totals, and whether
 * the subtrader's markets must be examined. They must when it is on one side only, when its PnL or
 * fees sums differ, or when either keyed fingerprint of its per-market figures differs. The ledger
 * summary holds every posting this transaction's snapshot sees, which is exactly the postings up to
 * the high-water mark $2 read in that snapshot.
 */
const SUBTRADERS_SQL = `
  WITH k AS (
    SELECT s.subtrader_id, sum(s.pnl_centicents) AS pnl, sum(s.fees_centicents) AS fees,
           recon_fingerprint_1_mod(sum(s.fingerprint_1)) AS fp1, recon_fingerprint_2_mod(sum(s.fingerprint_2)) AS fp2
      FROM klear_settlement_summary s WHERE s.obligation_id = ANY($3::text[]) GROUP BY s.subtrader_id),
  i AS (
    SELECT l.subtrader_id, l.pnl_centicents AS pnl, l.fees_centicents AS fees, l.fingerprint_1 AS fp1, l.fingerprint_2 AS fp2
      FROM ledger_trading_summary l WHERE l.cycle = $1 AND l.asset_class = $4 AND $2::bigint IS NOT NULL)
  INSERT INTO recon_settlement_subtrader (subtrader_id, klear_total, internal_total, examined)
  SELECT coalesce(k.subtrader_id, i.subtrader_id), coalesce(k.pnl - k.fees, 0), coalesce(i.pnl - i.fees, 0),
         k.subtrader_id IS NULL OR i.subtrader_id IS NULL OR k.pnl <> i.pnl OR k.fees <> i.fees OR k.fp1 <> i.fp1 OR k.fp2 <> i.fp2
    FROM k FULL OUTER JOIN i ON i.subtrader_id = k.subtrader_id`;

/**
 * Per (subtrader, market) of the examined subtraders: Klear details FULL OUTER JOIN the ledger's
 * sums, exactly; a market missing on one side counts as zero PnL and zero fees. Only rows that
 * differ are kept; a row is tolerated when both its PnL and its fees differences are within $6.
 * Reasons come later, for the rows that are breaks. The examined subtraders are joined (the table
 * is analysed first), so the planner probes the indexes for a few of them and hashes whole tables
 * when a systematic error makes every subtrader differ. $5 cycle as in keys, $6 tolerance.
 */
const DETAILS_SQL = `
  WITH k AS (
    SELECT d.subtrader_id, d.market_ticker, sum(d.pnl_centicents) AS pnl, sum(d.fees_centicents) AS fees
      FROM recon_settlement_subtrader t JOIN klear_settlement_detail d ON d.subtrader_id = t.subtrader_id
     WHERE t.examined AND d.cycle = $1 AND d.obligation_id = ANY($3::text[])
     GROUP BY d.subtrader_id, d.market_ticker),
  i_rows AS (
    SELECT p.subtrader_id, p.market_ticker, p.account, p.amount_centicents
      FROM recon_settlement_subtrader t JOIN journal_posting p ON p.subtrader_id = t.subtrader_id
     WHERE t.examined AND p.cycle_key = $1 AND p.cycle = $1 AND p.asset_class = $4 AND p.account IN ('trading_pnl', 'trading_fees') AND p.entry_seq <= $2
    UNION ALL
    SELECT '', p.market_ticker, p.account, p.amount_centicents
      FROM journal_posting p
     WHERE p.subtrader_id IS NULL AND p.cycle_key = $1 AND p.cycle = $1 AND p.asset_class = $4 AND p.account IN ('trading_pnl', 'trading_fees') AND p.entry_seq <= $2
       AND EXISTS (SELECT 1 FROM recon_settlement_subtrader t WHERE t.examined AND t.subtrader_id = '')),
  i AS (
    SELECT r.subtrader_id, r.market_ticker,
           coalesce(sum(r.amount_centicents) FILTER (WHERE r.account = 'trading_pnl'), 0) AS pnl,
           -coalesce(sum(r.amount_centicents) FILTER (WHERE r.account = 'trading_fees'), 0) AS fees
      FROM i_rows r GROUP BY r.subtrader_id, r.market_ticker),
  j AS (
    SELECT coalesce(k.subtrader_id, i.subtrader_id) AS subtrader_id, coalesce(k.market_ticker, i.market_ticker) AS market_ticker,
           k.pnl - k.fees AS klear_value, i.pnl - i.fees AS internal_value,
           coalesce(k.pnl, 0) - coalesce(i.pnl, 0) AS pnl_difference, coalesce(k.fees, 0) - coalesce(i.fees, 0) AS fees_difference
      FROM k FULL OUTER JOIN i ON i.subtrader_id = k.subtrader_id AND i.market_ticker = k.market_ticker)
  INSERT INTO recon_found ("check", break_key, subtrader_id, market_ticker, reason_code, tolerated, rollup, klear_value, internal_value,
                           difference, pnl_difference, fees_difference)
  SELECT 'settlement_details', ${breakKeySql(`'settlement_details'`, '$5::text', 'j.subtrader_id', 'j.market_ticker')},
         j.subtrader_id, j.market_ticker, 'pending',
         abs(j.pnl_difference) <= $6::bigint AND abs(j.fees_difference) <= $6::bigint, 'markets',
         j.klear_value, j.internal_value, j.pnl_difference - j.fees_difference, j.pnl_difference, j.fees_difference
    FROM j WHERE j.pnl_difference <> 0 OR j.fees_difference <> 0`;

/** The subtrader is on one side only in the whole cycle (no Klear row of any list, or no ledger entry at all). */
export const ONE_SIDED = `(
       NOT EXISTS (SELECT 1 FROM klear_settlement_detail d WHERE d.cycle = $1 AND d.obligation_id = ANY($3::text[]) AND d.subtrader_id = f.subtrader_id)
   AND NOT EXISTS (SELECT 1 FROM klear_margin_detail m WHERE m.cycle = $1 AND m.obligation_id = ANY($3::text[]) AND m.subtrader_id = f.subtrader_id)
   AND NOT EXISTS (SELECT 1 FROM klear_funding_payment p WHERE p.obligation_id = ANY($3::text[]) AND p.subtrader_id = f.subtrader_id)
    OR NOT EXISTS (SELECT 1 FROM journal_entry e WHERE e.cycle = $1 AND e.asset_class = $4 AND e.subtrader_id = f.subtrader_id AND e.ledger_seq <= $2))`;

/**
 * Reasons of a check that compares one ledger account per subtrader (or per subtrader and market):
 * `unknown_subtrader` (ONE_SIDED), then the side that is missing, else `amount_mismatch`; and the
 * ledger entries behind the internal side. For the rows still 'pending' that are breaks ($1-$4).
 */
export function accountReasonsSql(check: string, account: string, perMarket: boolean): string {
  return `
  UPDATE recon_found f SET
    reason_code = CASE
      WHEN ${ONE_SIDED} THEN 'unknown_subtrader'
      WHEN f.internal_value IS NULL THEN 'missing_internal'
      WHEN f.klear_value IS NULL THEN 'missing_klear'
      ELSE 'amount_mismatch' END,
    internal_rows = coalesce((SELECT jsonb_agg(DISTINCT e.external_id ORDER BY e.external_id)
                                FROM journal_posting p JOIN journal_entry e ON e.ledger_seq = p.entry_seq
                               WHERE p.cycle_key = $1 AND p.cycle = $1 AND p.asset_class = $4 AND p.subtrader_id = f.subtrader_id${perMarket ? ' AND p.market_ticker = f.market_ticker' : ''}
                                 AND p.account = '${account}' AND p.entry_seq <= $2), '[]')
   WHERE f."check" = '${check}' AND f.reason_code = 'pending' AND NOT f.tolerated`;
}

/** Reason rules, first that applies, for the rows that are breaks; then the rows behind each side ($1-$4). */
const REASONS_SQL = `
  UPDATE recon_found f SET
    reason_code = CASE
      WHEN ${ONE_SIDED} THEN 'unknown_subtrader'
      WHEN (SELECT count(*) FROM journal_entry e
             WHERE e.cycle = $1 AND e.asset_class = $4 AND e.subtrader_id = f.subtrader_id AND e.entry_type = 'trade_settlement' AND e.ledger_seq <= $2
               AND NOT EXISTS (SELECT 1 FROM journal_entry r WHERE r.reverses_external_id = e.external_id AND r.ledger_seq <= $2)) > 1
        THEN 'duplicate'
      WHEN f.internal_value IS NULL THEN 'missing_internal'
      WHEN f.klear_value IS NULL THEN 'missing_klear'
      ELSE 'amount_mismatch' END,
    klear_rows = coalesce((SELECT jsonb_agg(d.id ORDER BY d.id) FROM klear_settlement_detail d
                            WHERE d.cycle = $1 AND d.obligation_id = ANY($3::text[]) AND d.subtrader_id = f.subtrader_id AND d.market_ticker = f.market_ticker), '[]'),
    internal_rows = coalesce((SELECT jsonb_agg(DISTINCT e.external_id ORDER BY e.external_id)
                                FROM journal_posting p JOIN journal_entry e ON e.ledger_seq = p.entry_seq
                               WHERE p.cycle_key = $1 AND p.cycle = $1 AND p.asset_class = $4 AND p.subtrader_id = f.subtrader_id AND p.market_ticker = f.market_ticker
                                 AND p.account IN ('trading_pnl', 'trading_fees') AND p.entry_seq <= $2), '[]')
   WHERE f."check" = 'settlement_details' AND NOT f.tolerated`;

/**
 * Explainability: per subtrader, klear_total - internal_total (from the summaries) must equal the
 * sum of its settlement_details breaks plus its tolerated differences (from the market-by-market
 * join). Also keeps the per-subtrader rollup of the subtraders with breaks or tolerated rows
 * (stored with the run). Returns the violations (none in a correct run) and, as a last row with
 * subtrader NULL, the cycle totals.
 */
const EXPLAINABILITY_SQL = `
  WITH bt AS (
    SELECT f.subtrader_id,
           coalesce(sum(f.difference) FILTER (WHERE NOT f.tolerated), 0) AS breaks,
           coalesce(sum(f.difference) FILTER (WHERE f.tolerated), 0) AS tolerated,
           count(*) FILTER (WHERE NOT f.tolerated) AS n, count(*) FILTER (WHERE f.tolerated) AS tn
      FROM recon_found f WHERE f."check" = 'settlement_details' GROUP BY f.subtrader_id),
  totals AS MATERIALIZED (
    SELECT coalesce(t.subtrader_id, bt.subtrader_id) AS subtrader_id,
           coalesce(t.klear_total, 0) AS klear_total, coalesce(t.internal_total, 0) AS internal_total,
           coalesce(bt.breaks, 0) AS breaks, coalesce(bt.tolerated, 0) AS tolerated, coalesce(bt.n, 0) AS n, coalesce(bt.tn, 0) AS tn
      FROM recon_settlement_subtrader t FULL OUTER JOIN bt ON bt.subtrader_id = t.subtrader_id),
  stored_rollup AS (
    INSERT INTO recon_rollup SELECT subtrader_id, klear_total, internal_total, breaks, tolerated, n, tn FROM totals WHERE n > 0 OR tn > 0
    RETURNING 1)
  SELECT subtrader_id, klear_total::text, internal_total::text, breaks::text, tolerated::text
    FROM totals WHERE klear_total - internal_total <> breaks + tolerated
  UNION ALL
  SELECT NULL, sum(klear_total)::text, sum(internal_total)::text, sum(breaks)::text, sum(tolerated)::text
    FROM totals`;

const CREATE_ROLLUP_TABLE_SQL = `
  CREATE TEMPORARY TABLE recon_rollup (subtrader_id text, klear_total numeric, internal_total numeric, breaks numeric, tolerated numeric, n bigint, tn bigint)`;

const STORE_ROLLUP_SQL = `
  INSERT INTO recon_subtrader_rollup (run_id, subtrader_id, klear_total_centicents, internal_total_centicents,
                                      break_difference_centicents, tolerated_difference_centicents, break_count, tolerated_count)
  SELECT $1::bigint, subtrader_id, klear_total, internal_total, breaks, tolerated, n, tn FROM recon_rollup`;

/** The ledger entries of the cycle and asset class (trade settlements, adjustments, margins, funding, reversals): what the cycle's checks read of the ledger. */
export async function cycleLedgerInputs(q: CheckSql, context: CycleContext): Promise<Record<string, string>> {
  const [row] = (await q.query(
    `SELECT count(*)::text AS entries, coalesce(max(ledger_seq), 0)::text AS last_seq FROM journal_entry WHERE cycle = $1 AND asset_class = $3 AND ledger_seq <= $2`,
    [context.cycle, context.ledgerSeq, context.assetClass],
  )) as Array<Record<string, string>>;
  return row;
}

export const settlementDetailsCheck: ReconCheck<CycleContext> = {
  name: 'settlement_details',
  tolerance: (settings) => settings.tolerances.settlementDetails,
  async prepare(q, c) {
    const base = [c.cycle, c.ledgerSeq, c.obligationIds, c.assetClass];
    return {
      inputs: { cycle_ledger: await cycleLedgerInputs(q, c) },
      async execute(tx) {
        await tx.query(CREATE_SETTLEMENT_SUBTRADER_TABLE_SQL);
        await tx.query(SUBTRADERS_SQL, base);
        // Temporary tables are never auto-analysed: the planner needs to know how many to examine.
        await tx.query('ANALYZE recon_settlement_subtrader');
        await tx.query(DETAILS_SQL, [...base, c.keyText, c.settings.tolerances.settlementDetails.toString()]);
      },
      async finish(tx) {
        await tx.query(REASONS_SQL, base);
        await tx.query(CREATE_ROLLUP_TABLE_SQL);
        const rows = (await tx.query(EXPLAINABILITY_SQL)) as Array<Record<string, string | null>>;
        const cycleTotals = rows.find((r) => r.subtrader_id === null)!;
        const violations = rows.filter((r) => r.subtrader_id !== null) as Array<Record<string, string>>;
        if (violations.length > 0) throw new ExplainabilityViolated(violations);
        return {
          settlement_details_totals: {
            klear_total: cycleTotals.klear_total ?? '0',
            internal_total: cycleTotals.internal_total ?? '0',
            break_difference: cycleTotals.breaks ?? '0',
            tolerated_difference: cycleTotals.tolerated ?? '0',
          },
        };
      },
      async store(tx, runId) {
        await tx.query(STORE_ROLLUP_SQL, [runId]);
      },
    };
  },
};
