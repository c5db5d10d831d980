/*
 * Settlement details, maintenance margin and Klear self-consistency of one cycle
 * (docs/ledger-and-breaks.md). Parameters of every statement here:
 *   $1 cycle (timestamptz), $2 ledger high-water mark (ledger_seq), $3 obligation ids (text[]),
 *   $4 cycle as written in break keys, $5 the check's tolerance (centicents).
 */

/**
 * Per subtrader, from the summaries the source tables' triggers maintain (klear_settlement_summary,
 * ledger_trading_summary: 10,000 rows where the details are 1,000,000): both totals, and whether
 * the subtrader's markets must be examined. They must when it is on one side only, when its PnL or
 * fees sums differ, or when either fingerprint of its per-market figures differs. A per-market
 * difference that leaves the sums equal (+1 on one market, -1 on another) changes a fingerprint
 * unless sum(delta_m * w(m)) = 0 mod p for both primes: about 2^-62 for weights that behave as
 * random (docs/ledger-and-breaks.md). The ledger summary holds every posting this transaction's
 * snapshot sees, which is exactly the postings up to the high-water mark $2 read in that snapshot.
 */
export const SETTLEMENT_SUBTRADERS_SQL = `
  WITH k AS (
    SELECT s.subtrader_id, sum(s.pnl_centicents) AS pnl, sum(s.fees_centicents) AS fees,
           mod(sum(s.fingerprint_1), 2147483647) AS fp1, mod(sum(s.fingerprint_2), 2147483629) AS fp2
      FROM klear_settlement_summary s WHERE s.obligation_id = ANY($3::text[]) GROUP BY s.subtrader_id),
  i AS (
    SELECT l.subtrader_id, l.pnl_centicents AS pnl, l.fees_centicents AS fees, l.fingerprint_1 AS fp1, l.fingerprint_2 AS fp2
      FROM ledger_trading_summary l WHERE l.cycle = $1 AND $2::bigint IS NOT NULL)
  INSERT INTO recon_settlement_subtrader (subtrader_id, klear_total, internal_total, examined)
  SELECT coalesce(k.subtrader_id, i.subtrader_id), coalesce(k.pnl - k.fees, 0), coalesce(i.pnl - i.fees, 0),
         k.subtrader_id IS NULL OR i.subtrader_id IS NULL OR k.pnl <> i.pnl OR k.fees <> i.fees OR k.fp1 <> i.fp1 OR k.fp2 <> i.fp2
    FROM k FULL OUTER JOIN i ON i.subtrader_id = k.subtrader_id`;

/**
 * Per (subtrader, market) of the examined subtraders: Klear details FULL OUTER JOIN the ledger's
 * sums, exactly; a market missing on one side counts as zero PnL and zero fees. Only rows that
 * differ are kept. Reasons come in a second step, for those few rows only ('pending'). The
 * examined subtraders are joined (recon_settlement_subtrader is analysed first), so the planner
 * probes the indexes for a few of them and hashes whole tables when a systematic error makes
 * every subtrader differ.
 */
export const SETTLEMENT_DETAILS_SQL = `
  WITH k AS (
    SELECT d.subtrader_id, d.market_ticker, sum(d.pnl_centicents) AS pnl, sum(d.fees_centicents) AS fees
      FROM recon_settlement_subtrader t JOIN klear_settlement_detail d ON d.subtrader_id = t.subtrader_id
     WHERE t.examined AND d.obligation_id = ANY($3::text[])
     GROUP BY d.subtrader_id, d.market_ticker),
  i_rows AS (
    SELECT p.subtrader_id, p.market_ticker, p.account, p.amount_centicents
      FROM recon_settlement_subtrader t JOIN journal_posting p ON p.subtrader_id = t.subtrader_id
     WHERE t.examined AND p.cycle = $1 AND p.account IN ('trading_pnl', 'trading_fees') AND p.entry_seq <= $2
    UNION ALL
    SELECT '', p.market_ticker, p.account, p.amount_centicents
      FROM journal_posting p
     WHERE p.subtrader_id IS NULL AND p.cycle = $1 AND p.account IN ('trading_pnl', 'trading_fees') AND p.entry_seq <= $2
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
  INSERT INTO recon_found ("check", break_key, subtrader_id, market_ticker, reason_code, klear_value, internal_value,
                           difference, pnl_difference, fees_difference)
  SELECT 'settlement_details', 'settlement_details/' || $4::text || '/' || j.subtrader_id || '/' || j.market_ticker,
         j.subtrader_id, j.market_ticker,
         CASE WHEN abs(j.pnl_difference) > $5::bigint OR abs(j.fees_difference) > $5::bigint THEN 'pending' END,
         j.klear_value, j.internal_value, j.pnl_difference - j.fees_difference, j.pnl_difference, j.fees_difference
    FROM j WHERE j.pnl_difference <> 0 OR j.fees_difference <> 0`;

/** The subtrader is on one side only in the whole cycle (no Klear row, or no ledger entry at all). */
const ONE_SIDED = `(
       NOT EXISTS (SELECT 1 FROM klear_settlement_detail d WHERE d.obligation_id = ANY($3::text[]) AND d.subtrader_id = f.subtrader_id)
   AND NOT EXISTS (SELECT 1 FROM klear_margin_detail m WHERE m.obligation_id = ANY($3::text[]) AND m.subtrader_id = f.subtrader_id)
    OR NOT EXISTS (SELECT 1 FROM journal_entry e WHERE e.cycle = $1 AND e.subtrader_id = f.subtrader_id AND e.ledger_seq <= $2))`;

/** Reason rules, first that applies, for the rows that are breaks; then the rows behind each side ($1-$3). */
export const SETTLEMENT_DETAILS_REASONS_SQL = `
  UPDATE recon_found f SET
    reason_code = CASE
      WHEN ${ONE_SIDED} THEN 'unknown_subtrader'
      WHEN (SELECT count(*) FROM journal_entry e
             WHERE e.cycle = $1 AND e.subtrader_id = f.subtrader_id AND e.entry_type = 'trade_settlement' AND e.ledger_seq <= $2
               AND NOT EXISTS (SELECT 1 FROM journal_entry r WHERE r.reverses_external_id = e.external_id AND r.ledger_seq <= $2)) > 1
        THEN 'duplicate'
      WHEN f.internal_value IS NULL THEN 'missing_internal'
      WHEN f.klear_value IS NULL THEN 'missing_klear'
      ELSE 'amount_mismatch' END,
    klear_rows = coalesce((SELECT jsonb_agg(d.id ORDER BY d.id) FROM klear_settlement_detail d
                            WHERE d.obligation_id = ANY($3::text[]) AND d.subtrader_id = f.subtrader_id AND d.market_ticker = f.market_ticker), '[]'),
    internal_rows = coalesce((SELECT jsonb_agg(DISTINCT e.external_id ORDER BY e.external_id)
                                FROM journal_posting p JOIN journal_entry e ON e.ledger_seq = p.entry_seq
                               WHERE p.cycle = $1 AND p.subtrader_id = f.subtrader_id AND p.market_ticker = f.market_ticker
                                 AND p.account IN ('trading_pnl', 'trading_fees') AND p.entry_seq <= $2), '[]')
   WHERE f."check" = 'settlement_details' AND f.reason_code = 'pending'`;

/**
 * Explainability: per subtrader, klear_total - internal_total (from the summaries) must equal the
 * sum of its settlement_details breaks plus tolerated differences (from the market-by-market join).
 * Also stores the per-subtrader rollup of the subtraders with breaks. $1 the run id. Returns the
 * violations (none in a correct run) and, as a last row with subtrader NULL, the cycle totals.
 */
export const SETTLEMENT_EXPLAINABILITY_SQL = `
  WITH bt AS (
    SELECT f.subtrader_id,
           coalesce(sum(f.difference) FILTER (WHERE f.reason_code IS NOT NULL), 0) AS breaks,
           coalesce(sum(f.difference) FILTER (WHERE f.reason_code IS NULL), 0) AS tolerated,
           count(*) FILTER (WHERE f.reason_code IS NOT NULL) AS n
      FROM recon_found f WHERE f."check" = 'settlement_details' GROUP BY f.subtrader_id),
  totals AS MATERIALIZED (
    SELECT coalesce(t.subtrader_id, bt.subtrader_id) AS subtrader_id,
           coalesce(t.klear_total, 0) AS klear_total, coalesce(t.internal_total, 0) AS internal_total,
           coalesce(bt.breaks, 0) AS breaks, coalesce(bt.tolerated, 0) AS tolerated, coalesce(bt.n, 0) AS n
      FROM recon_settlement_subtrader t FULL OUTER JOIN bt ON bt.subtrader_id = t.subtrader_id),
  stored_rollup AS (
    INSERT INTO recon_subtrader_rollup (run_id, subtrader_id, klear_total_centicents, internal_total_centicents,
                                        break_difference_centicents, tolerated_difference_centicents, break_count)
    SELECT $1::bigint, subtrader_id, klear_total, internal_total, breaks, tolerated, n FROM totals WHERE n > 0
    RETURNING 1)
  SELECT subtrader_id, klear_total::text, internal_total::text, breaks::text, tolerated::text
    FROM totals WHERE klear_total - internal_total <> breaks + tolerated
  UNION ALL
  SELECT NULL, sum(klear_total)::text, sum(internal_total)::text, sum(breaks)::text, sum(tolerated)::text
    FROM totals`;

/** Requirement per subtrader ($1-$5); an empty subtrader id on Klear's side is a break of its own. */
export const MAINTENANCE_MARGIN_SQL = `
  WITH k AS (
    SELECT m.subtrader_id, sum(m.maintenance_margin_centicents) AS v, jsonb_agg(m.id ORDER BY m.id) AS ids
      FROM klear_margin_detail m WHERE m.obligation_id = ANY($3::text[]) AND m.subtrader_id <> '' GROUP BY m.subtrader_id),
  i AS (
    SELECT p.subtrader_id, sum(p.amount_centicents) AS v
      FROM journal_posting p
     WHERE p.cycle = $1 AND p.account = 'maintenance_margin' AND p.entry_seq <= $2 AND p.subtrader_id IS NOT NULL
     GROUP BY p.subtrader_id)
  INSERT INTO recon_found ("check", break_key, subtrader_id, reason_code, klear_value, internal_value, difference, klear_rows)
  SELECT 'maintenance_margin', 'maintenance_margin/' || $4::text || '/' || coalesce(k.subtrader_id, i.subtrader_id),
         coalesce(k.subtrader_id, i.subtrader_id),
         CASE WHEN k.v IS NULL OR i.v IS NULL OR abs(k.v - i.v) > $5::bigint THEN 'pending' END,
         k.v, i.v, coalesce(k.v, 0) - coalesce(i.v, 0), coalesce(k.ids, '[]')
    FROM k FULL OUTER JOIN i ON i.subtrader_id = k.subtrader_id
   WHERE k.v IS NULL OR i.v IS NULL OR k.v <> i.v
  UNION ALL
  SELECT 'maintenance_margin', 'maintenance_margin/' || $4::text || '/(empty)/' || m.id, NULL, 'missing_subtrader_id',
         m.maintenance_margin_centicents, NULL, m.maintenance_margin_centicents, jsonb_build_array(m.id)
    FROM klear_margin_detail m WHERE m.obligation_id = ANY($3::text[]) AND m.subtrader_id = ''`;

export const MAINTENANCE_MARGIN_REASONS_SQL = `
  UPDATE recon_found f SET
    reason_code = CASE
      WHEN ${ONE_SIDED} THEN 'unknown_subtrader'
      WHEN f.internal_value IS NULL THEN 'missing_internal'
      WHEN f.klear_value IS NULL THEN 'missing_klear'
      ELSE 'amount_mismatch' END,
    internal_rows = coalesce((SELECT jsonb_agg(DISTINCT e.external_id ORDER BY e.external_id)
                                FROM journal_posting p JOIN journal_entry e ON e.ledger_seq = p.entry_seq
                               WHERE p.cycle = $1 AND p.subtrader_id = f.subtrader_id AND p.account = 'maintenance_margin'
                                 AND p.entry_seq <= $2), '[]')
   WHERE f."check" = 'maintenance_margin' AND f.reason_code = 'pending'`;

/**
 * The obligation's own totals against the sums of its details (a difference is Klear's), the
 * sums read from the maintained per-subtrader summaries. Parameters: $1 obligation ids, $2 cycle as in keys, $3 tolerance.
 */
export const KLEAR_CONSISTENCY_SQL = `
  WITH o AS (
    SELECT sum(pnl_centicents) AS pnl, sum(fees_centicents) AS fees, sum(maintenance_margin_centicents) AS mm,
           sum(amount_centicents) AS amount, jsonb_agg(id ORDER BY id) AS ids
      FROM klear_obligation WHERE id = ANY($1::text[])),
  d AS (
    SELECT coalesce(sum(pnl_centicents), 0) AS pnl, coalesce(sum(fees_centicents), 0) AS fees, coalesce(sum(total_centicents), 0) AS total
      FROM klear_settlement_summary WHERE obligation_id = ANY($1::text[])),
  m AS (
    SELECT coalesce(sum(maintenance_margin_centicents), 0) AS mm, coalesce(sum(maintenance_margin_delta_centicents), 0) AS delta
      FROM klear_margin_detail WHERE obligation_id = ANY($1::text[])),
  fields AS (
    SELECT x.field, x.own, x.from_details, o.ids
      FROM o, d, m,
           LATERAL (VALUES ('pnl', o.pnl, d.pnl), ('fees', o.fees, d.fees), ('maintenance_margin', o.mm, m.mm),
                           ('amount', o.amount, d.total - m.delta)) AS x(field, own, from_details)
     WHERE o.ids IS NOT NULL)
  INSERT INTO recon_found ("check", break_key, reference, reason_code, klear_value, internal_value, difference, klear_rows)
  SELECT 'klear_consistency', 'klear_consistency/' || $2::text || '/' || field, field,
         CASE WHEN abs(own - from_details) > $3::bigint THEN 'klear_inconsistent' END,
         own, from_details, own - from_details, ids
    FROM fields WHERE own <> from_details`;
