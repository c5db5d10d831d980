/*
 * Settlement details, maintenance margin and Klear self-consistency of one cycle
 * (docs/ledger-and-breaks.md). Parameters of every statement here:
 *   $1 cycle (timestamptz), $2 ledger high-water mark (ledger_seq), $3 obligation ids (text[]),
 *   $4 cycle as written in break keys, $5 the check's tolerance (centicents).
 */

/**
 * Per (subtrader, market): Klear details FULL OUTER JOIN the ledger's sums; only rows that differ
 * are kept. Reasons come in a second step, for those few rows only ('pending').
 */
export const SETTLEMENT_DETAILS_SQL = `
  WITH k AS (
    SELECT d.subtrader_id, d.market_ticker, sum(d.pnl_centicents) AS pnl, sum(d.fees_centicents) AS fees
      FROM klear_settlement_detail d
     WHERE d.obligation_id = ANY($3::text[])
     GROUP BY d.subtrader_id, d.market_ticker),
  i AS (
    SELECT coalesce(p.subtrader_id, '') AS subtrader_id, p.market_ticker,
           coalesce(sum(p.amount_centicents) FILTER (WHERE p.account = 'trading_pnl'), 0) AS pnl,
           -coalesce(sum(p.amount_centicents) FILTER (WHERE p.account = 'trading_fees'), 0) AS fees
      FROM journal_posting p
     WHERE p.cycle = $1 AND p.account IN ('trading_pnl', 'trading_fees') AND p.entry_seq <= $2
     GROUP BY 1, 2)
  INSERT INTO recon_found ("check", break_key, subtrader_id, market_ticker, reason_code, klear_value, internal_value,
                           difference, pnl_difference, fees_difference)
  SELECT 'settlement_details',
         'settlement_details/' || $4::text || '/' || coalesce(k.subtrader_id, i.subtrader_id) || '/' || coalesce(k.market_ticker, i.market_ticker),
         coalesce(k.subtrader_id, i.subtrader_id),
         coalesce(k.market_ticker, i.market_ticker),
         CASE WHEN k.pnl IS NULL OR i.pnl IS NULL OR abs(k.pnl - i.pnl) > $5::bigint OR abs(k.fees - i.fees) > $5::bigint THEN 'pending' END,
         k.pnl - k.fees,
         i.pnl - i.fees,
         coalesce(k.pnl - k.fees, 0) - coalesce(i.pnl - i.fees, 0),
         coalesce(k.pnl, 0) - coalesce(i.pnl, 0),
         coalesce(k.fees, 0) - coalesce(i.fees, 0)
    FROM k FULL OUTER JOIN i ON i.subtrader_id = k.subtrader_id AND i.market_ticker = k.market_ticker
   WHERE k.pnl IS NULL OR i.pnl IS NULL OR k.pnl <> i.pnl OR k.fees <> i.fees`;

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
 * Explainability, computed afresh from the source tables: per subtrader, klear_total -
 * internal_total must equal the sum of its settlement_details breaks plus tolerated differences.
 * Also stores the per-subtrader rollup of the subtraders with breaks. Parameters $1-$3 as above,
 * $4 the run id. Returns the
 * violations (none in a correct run) and, as a last row with subtrader NULL, the cycle totals.
 */
export const SETTLEMENT_EXPLAINABILITY_SQL = `
  WITH kt AS (
    SELECT d.subtrader_id, sum(d.pnl_centicents - d.fees_centicents) AS total
      FROM klear_settlement_detail d WHERE d.obligation_id = ANY($3::text[]) GROUP BY d.subtrader_id),
  it AS (
    SELECT coalesce(p.subtrader_id, '') AS subtrader_id, sum(p.amount_centicents) AS total
      FROM journal_posting p
     WHERE p.cycle = $1 AND p.account IN ('trading_pnl', 'trading_fees') AND p.entry_seq <= $2 GROUP BY 1),
  bt AS (
    SELECT f.subtrader_id,
           coalesce(sum(f.difference) FILTER (WHERE f.reason_code IS NOT NULL), 0) AS breaks,
           coalesce(sum(f.difference) FILTER (WHERE f.reason_code IS NULL), 0) AS tolerated,
           count(*) FILTER (WHERE f.reason_code IS NOT NULL) AS n
      FROM recon_found f WHERE f."check" = 'settlement_details' GROUP BY f.subtrader_id),
  totals AS MATERIALIZED (
    SELECT coalesce(kt.subtrader_id, it.subtrader_id, bt.subtrader_id) AS subtrader_id,
           coalesce(kt.total, 0) AS klear_total, coalesce(it.total, 0) AS internal_total,
           coalesce(bt.breaks, 0) AS breaks, coalesce(bt.tolerated, 0) AS tolerated, coalesce(bt.n, 0) AS n
      FROM kt FULL OUTER JOIN it ON it.subtrader_id = kt.subtrader_id
              FULL OUTER JOIN bt ON bt.subtrader_id = coalesce(kt.subtrader_id, it.subtrader_id)),
  stored_rollup AS (
    INSERT INTO recon_subtrader_rollup (run_id, subtrader_id, klear_total_centicents, internal_total_centicents,
                                        break_difference_centicents, tolerated_difference_centicents, break_count)
    SELECT $4::bigint, subtrader_id, klear_total, internal_total, breaks, tolerated, n FROM totals WHERE n > 0
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

/** The obligation's own totals against the sums of its details (a difference is Klear's). */
/**
 * The obligation's own totals against the sums of its details (a difference is Klear's).
 * Parameters: $1 obligation ids, $2 cycle as in keys, $3 tolerance.
 */
export const KLEAR_CONSISTENCY_SQL = `
  WITH o AS (
    SELECT sum(pnl_centicents) AS pnl, sum(fees_centicents) AS fees, sum(maintenance_margin_centicents) AS mm,
           sum(amount_centicents) AS amount, jsonb_agg(id ORDER BY id) AS ids
      FROM klear_obligation WHERE id = ANY($1::text[])),
  d AS (
    SELECT coalesce(sum(pnl_centicents), 0) AS pnl, coalesce(sum(fees_centicents), 0) AS fees, coalesce(sum(total_centicents), 0) AS total
      FROM klear_settlement_detail WHERE obligation_id = ANY($1::text[])),
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
