/**
 * Projected breaks: the estimate snapshot's per-subtrader figures (variation margin - fees, the
 * same `pnl - fees` as a settled total) against the ledger's bookings for cycles Klear has not
 * settled yet. Parameters: $1 estimate snapshot id, $2 ledger high-water mark, $3 last settled
 * cycle ('-infinity' when none), $4 tolerance.
 */
export const PROJECTED_SQL = `
  WITH k AS (
    SELECT l.key AS subtrader_id, l.variation_margin_centicents - l.total_fees_centicents AS v
      FROM klear_estimate_line l
     WHERE l.snapshot_id = $1 AND l.scope = 'subtrader' AND l.asset_class = ''),
  i AS (
    SELECT p.subtrader_id, sum(p.amount_centicents) AS v, jsonb_agg(DISTINCT e.external_id) AS ids
      FROM journal_posting p JOIN journal_entry e ON e.ledger_seq = p.entry_seq
     WHERE p.cycle > $3::timestamptz AND p.account IN ('trading_pnl', 'trading_fees') AND p.entry_seq <= $2 AND p.subtrader_id IS NOT NULL
     GROUP BY p.subtrader_id)
  INSERT INTO recon_found ("check", break_key, subtrader_id, reference, reason_code, klear_value, internal_value, difference, klear_rows, internal_rows)
  SELECT 'projected', 'projected/' || $1::text || '/' || coalesce(k.subtrader_id, i.subtrader_id), coalesce(k.subtrader_id, i.subtrader_id), $1::text,
         CASE WHEN k.v IS NULL THEN 'missing_klear'
              WHEN i.v IS NULL THEN 'missing_internal'
              WHEN abs(k.v - i.v) > $4::bigint THEN 'projected_mismatch' END,
         k.v, i.v, coalesce(k.v, 0) - coalesce(i.v, 0),
         CASE WHEN k.v IS NULL THEN '[]'::jsonb ELSE jsonb_build_array($1::text || '/' || k.subtrader_id) END,
         coalesce(i.ids, '[]')
    FROM k FULL OUTER JOIN i ON i.subtrader_id = k.subtrader_id
   WHERE k.v IS NULL OR i.v IS NULL OR k.v <> i.v`;
