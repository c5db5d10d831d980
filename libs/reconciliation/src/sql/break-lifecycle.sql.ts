/*
 * Turning what a run found into breaks. Parameters: $1 run id, $2 scope key, $3 cycle (or NULL).
 * Identity is (scope, key); a run updates the breaks it finds, opens new ones, reopens closed ones
 * (and resolved ones whose difference changed), and closes the ones of its scope it no longer finds.
 */

export const UPSERT_BREAKS_SQL = `
  WITH upserted AS (
    INSERT INTO recon_break AS b (scope_key, break_key, "check", cycle, subtrader_id, market_ticker, reference, reason_code,
                                  klear_value_centicents, internal_value_centicents, difference_centicents,
                                  pnl_difference_centicents, fees_difference_centicents, status, first_seen_run, last_seen_run)
    SELECT $2::text, f.break_key, f."check", $3::timestamptz, f.subtrader_id, f.market_ticker, f.reference, f.reason_code,
           f.klear_value, f.internal_value, f.difference, f.pnl_difference, f.fees_difference, 'open', $1::bigint, $1::bigint
      FROM recon_found f WHERE f.reason_code IS NOT NULL
     ORDER BY f.break_key COLLATE "C"
    ON CONFLICT (scope_key, break_key) DO UPDATE SET
      status = CASE WHEN b.status = 'closed' OR (b.status = 'resolved' AND b.difference_centicents <> EXCLUDED.difference_centicents)
                    THEN 'open' ELSE b.status END,
      closed_by_run = CASE WHEN b.status = 'closed' OR (b.status = 'resolved' AND b.difference_centicents <> EXCLUDED.difference_centicents)
                           THEN NULL ELSE b.closed_by_run END,
      reason_code = EXCLUDED.reason_code,
      klear_value_centicents = EXCLUDED.klear_value_centicents,
      internal_value_centicents = EXCLUDED.internal_value_centicents,
      difference_centicents = EXCLUDED.difference_centicents,
      pnl_difference_centicents = EXCLUDED.pnl_difference_centicents,
      fees_difference_centicents = EXCLUDED.fees_difference_centicents,
      last_seen_run = EXCLUDED.last_seen_run,
      updated_at = now()
    RETURNING b.id, b.break_key, (xmax = 0) AS created, b.status)
  SELECT count(*) FILTER (WHERE created)::int AS opened, count(*)::int AS found FROM upserted`;

/** Which existing breaks were closed or resolved before this run (for the audit of reopenings). */
export const PREVIOUSLY_INACTIVE_SQL = `
  SELECT b.id::text FROM recon_break b JOIN recon_found f ON f.break_key = b.break_key
   WHERE b.scope_key = $1 AND f.reason_code IS NOT NULL AND b.status IN ('closed', 'resolved')`;

export const CLOSE_UNSEEN_BREAKS_SQL = `
  UPDATE recon_break SET status = 'closed', closed_by_run = $1::bigint, updated_at = now()
   WHERE scope_key = $2::text AND status <> 'closed' AND last_seen_run <> $1::bigint
  RETURNING id::text`;

/** One observation per break found, numbered in key order (byte order, as the answer key sorts). */
export const INSERT_OBSERVATIONS_SQL = `
  INSERT INTO recon_break_observation (run_id, ordinal, break_id, break_key, "check", subtrader_id, reason_code,
                                       klear_value_centicents, internal_value_centicents, difference_centicents,
                                       pnl_difference_centicents, fees_difference_centicents, klear_rows, internal_rows)
  SELECT $1::bigint, row_number() OVER (ORDER BY f.break_key COLLATE "C"), b.id, f.break_key, f."check", f.subtrader_id, f.reason_code,
         f.klear_value, f.internal_value, f.difference, f.pnl_difference, f.fees_difference, f.klear_rows, f.internal_rows
    FROM recon_found f JOIN recon_break b ON b.scope_key = $2::text AND b.break_key = f.break_key
   WHERE f.reason_code IS NOT NULL`;
