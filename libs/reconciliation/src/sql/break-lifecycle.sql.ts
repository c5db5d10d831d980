/*
 * Turning what a run found into breaks, in the transaction that records the run (READ COMMITTED,
 * after the run's findings were computed in their snapshot). Parameters: $1 run id, $2 scope key,
 * $3 cycle (or NULL), $4 the run's time (from the Clock), $5 asset class (or NULL).
 *
 * Identity is (scope, key); a cycle's scope names its asset class (`cycle/{cycle}/{asset class}`). A run updates the breaks it finds and opens new ones. It reopens a
 * closed break it finds again, and a resolved or pending_write_off break whose figures changed: a
 * decision (or a write-off proposal) covers the figures it was made on, no others. Reopening clears
 * the resolution (the audit keeps it). A run closes the breaks of its scope it no longer finds.
 */

/** The figures a decision on a break was made on. */
const FIGURES = [
  'klear_value_centicents',
  'internal_value_centicents',
  'difference_centicents',
  'pnl_difference_centicents',
  'fees_difference_centicents',
];
const FIGURES_CHANGED = `(${FIGURES.map((f) => `b.${f}`).join(', ')}) IS DISTINCT FROM (${FIGURES.map((f) => `EXCLUDED.${f}`).join(', ')})`;
const REOPENS = `(b.status = 'closed' OR (b.status IN ('resolved', 'pending_write_off') AND ${FIGURES_CHANGED}))`;
const RESOLUTION = [
  'resolution_reason',
  'resolution_reference',
  'resolution_note',
  'resolved_by',
  'resolved_by_user_id',
  'cosigned_by',
  'resolved_at',
  'write_off_difference_centicents',
];

/**
 * Locks the scope's breaks this run may change (people working them wait, and the run waits for
 * them), and answers those whose resolution or write-off proposal the run will discard: resolved
 * or pending_write_off with other figures now, or closed with a resolution and found again.
 */
export const LOCK_AND_READ_DISCARDED_SQL = `
  WITH locked AS (
    SELECT b.* FROM recon_break b
     WHERE b.scope_key = $1 AND (b.status <> 'closed' OR b.break_key IN (SELECT f.break_key FROM recon_found f WHERE NOT f.tolerated))
     ORDER BY b.id FOR UPDATE)
  SELECT b.id::text, b.status, b.resolution_reason, b.resolution_reference, b.resolution_note, b.resolved_by, b.cosigned_by,
         b.write_off_difference_centicents::text, b.klear_value_centicents::text, b.internal_value_centicents::text, b.difference_centicents::text,
         f.klear_value::text AS found_klear, f.internal_value::text AS found_internal, f.difference::text AS found_difference
    FROM locked b JOIN recon_found f ON f.break_key = b.break_key AND NOT f.tolerated
   WHERE b.resolution_reason IS NOT NULL
     AND (b.status = 'closed'
          OR (b.klear_value_centicents, b.internal_value_centicents, b.difference_centicents, b.pnl_difference_centicents, b.fees_difference_centicents)
             IS DISTINCT FROM (f.klear_value, f.internal_value, f.difference, f.pnl_difference, f.fees_difference))
   ORDER BY b.id`;

/** Which existing breaks were closed, or resolved/pending with other figures, before this run: the ones it reopens. */
export const TO_REOPEN_SQL = `
  SELECT b.id::text FROM recon_break b JOIN recon_found f ON f.break_key = b.break_key AND NOT f.tolerated
   WHERE b.scope_key = $1
     AND (b.status = 'closed'
          OR (b.status IN ('resolved', 'pending_write_off')
              AND (b.klear_value_centicents, b.internal_value_centicents, b.difference_centicents, b.pnl_difference_centicents, b.fees_difference_centicents)
                  IS DISTINCT FROM (f.klear_value, f.internal_value, f.difference, f.pnl_difference, f.fees_difference)))
   ORDER BY b.id`;

export const UPSERT_BREAKS_SQL = `
  WITH upserted AS (
    INSERT INTO recon_break AS b (scope_key, asset_class, break_key, "check", cycle, subtrader_id, market_ticker, reference, reason_code,
                                  klear_value_centicents, internal_value_centicents, difference_centicents,
                                  pnl_difference_centicents, fees_difference_centicents, status, first_seen_run, last_seen_run, created_at, updated_at)
    SELECT $2::text, $5::text, f.break_key, f."check", $3::timestamptz, f.subtrader_id, f.market_ticker, f.reference, f.reason_code,
           f.klear_value, f.internal_value, f.difference, f.pnl_difference, f.fees_difference, 'open', $1::bigint, $1::bigint, $4, $4
      FROM recon_found f WHERE NOT f.tolerated
     ORDER BY f.break_key COLLATE "C"
    ON CONFLICT (scope_key, break_key) DO UPDATE SET
      status = CASE WHEN ${REOPENS} THEN 'open' ELSE b.status END,
      closed_by_run = CASE WHEN ${REOPENS} THEN NULL ELSE b.closed_by_run END,
      ${RESOLUTION.map((c) => `${c} = CASE WHEN ${REOPENS} THEN NULL ELSE b.${c} END`).join(',\n      ')},
      reason_code = EXCLUDED.reason_code,
      reference = EXCLUDED.reference,
      klear_value_centicents = EXCLUDED.klear_value_centicents,
      internal_value_centicents = EXCLUDED.internal_value_centicents,
      difference_centicents = EXCLUDED.difference_centicents,
      pnl_difference_centicents = EXCLUDED.pnl_difference_centicents,
      fees_difference_centicents = EXCLUDED.fees_difference_centicents,
      last_seen_run = EXCLUDED.last_seen_run,
      updated_at = $4
    RETURNING (xmax = 0) AS created)
  SELECT count(*) FILTER (WHERE created)::int AS opened, count(*)::int AS found FROM upserted`;

/** Closes the scope's breaks this run did not find; answers their ids in order. */
export const CLOSE_UNSEEN_BREAKS_SQL = `
  WITH closed AS (
    UPDATE recon_break SET status = 'closed', closed_by_run = $1::bigint, updated_at = $3
     WHERE scope_key = $2::text AND status <> 'closed' AND last_seen_run <> $1::bigint
    RETURNING id)
  SELECT id::text FROM closed ORDER BY closed.id`;

/**
 * One observation per break found, numbered in key order (byte order, as the answer key sorts),
 * filed under the run's cycle ($3; '-infinity' for a run without one): the partition key.
 */
export const INSERT_OBSERVATIONS_SQL = `
  INSERT INTO recon_break_observation (run_id, ordinal, break_id, break_key, "check", subtrader_id, reason_code,
                                       klear_value_centicents, internal_value_centicents, difference_centicents,
                                       pnl_difference_centicents, fees_difference_centicents, klear_rows, internal_rows, cycle_key)
  SELECT $1::bigint, row_number() OVER (ORDER BY f.break_key COLLATE "C"), b.id, f.break_key, f."check", f.subtrader_id, f.reason_code,
         f.klear_value, f.internal_value, f.difference, f.pnl_difference, f.fees_difference, f.klear_rows, f.internal_rows,
         coalesce($3::timestamptz, '-infinity')
    FROM recon_found f JOIN recon_break b ON b.scope_key = $2::text AND b.break_key = f.break_key
   WHERE NOT f.tolerated`;
