/*
 * Settlement buffer of one cycle's ET day (docs/ledger-and-breaks.md). Both statements take
 * $1 cycle (timestamptz), $2 ledger high-water mark, $3 balance-history high-water mark (id).
 */

const DAY = `day AS (
    SELECT ((d::timestamp) AT TIME ZONE 'America/New_York') AS day_start,
           (((d + 1)::timestamp) AT TIME ZONE 'America/New_York') AS day_end
      FROM (SELECT ($1::timestamptz AT TIME ZONE 'America/New_York')::date AS d) x)`;

/**
 * Movements of the day, matched one-to-one and exclusively: Klear's movements grouped by business
 * transaction id against ledger movements grouped by business reference; what is left on both
 * sides is paired by equal amount (n-th with n-th, in time order) within the window; the rest are
 * breaks. Each movement is claimed at most once by construction (a reference group joins at most
 * one group; leftovers pair by ROW_NUMBER within an amount). $4 tolerance, $5 window (seconds).
 */
export const BUFFER_MOVEMENTS_SQL = `
  WITH ${DAY},
  kg AS (
    SELECT h.business_transaction_id AS ref, sum(h.balance_delta_centicents) AS amount, min(h.created_ts) AS at,
           jsonb_agg(h.id ORDER BY h.id) AS ids
      FROM klear_balance_history h, day
     WHERE h.id <= $3 AND h.created_ts >= day.day_start AND h.created_ts < day.day_end
     GROUP BY h.business_transaction_id),
  ig AS (
    SELECT coalesce(e.business_reference, r.business_reference, 'internal/' || e.external_id) AS ref,
           sum(p.amount_centicents) AS amount, min(e.effective_at) AS at,
           (array_agg(e.external_id ORDER BY e.ledger_seq DESC))[1] AS last_external_id,
           jsonb_agg(DISTINCT e.external_id) AS ids
      FROM journal_posting p
      JOIN journal_entry e ON e.ledger_seq = p.entry_seq
      LEFT JOIN journal_entry r ON r.external_id = e.reverses_external_id
      CROSS JOIN day
     WHERE p.account = 'settlement_buffer' AND p.entry_seq <= $2 AND e.effective_at >= day.day_start AND e.effective_at < day.day_end
     GROUP BY 1),
  by_ref AS MATERIALIZED (
    SELECT coalesce(kg.ref, ig.ref) AS ref, kg.amount AS k_amount, ig.amount AS i_amount, kg.at AS k_at, ig.at AS i_at,
           kg.ids AS k_ids, ig.ids AS i_ids, ig.last_external_id
      FROM kg FULL OUTER JOIN ig ON ig.ref = kg.ref),
  -- A Klear group that nets to zero (a lock and its release) moves no cash: nothing to match.
  k_left AS (
    SELECT b.*, row_number() OVER (PARTITION BY b.k_amount ORDER BY b.k_at, b.ref COLLATE "C") AS rn
      FROM by_ref b WHERE b.i_amount IS NULL AND b.k_amount <> 0),
  i_left AS (
    SELECT b.*, row_number() OVER (PARTITION BY b.i_amount ORDER BY b.i_at, b.ref COLLATE "C") AS rn
      FROM by_ref b WHERE b.k_amount IS NULL),
  by_amount AS MATERIALIZED (
    SELECT kl.ref AS k_ref, il.ref AS i_ref
      FROM k_left kl JOIN i_left il ON il.i_amount = kl.k_amount AND il.rn = kl.rn
     WHERE abs(extract(epoch FROM kl.k_at - il.i_at)) <= $5::int)
  INSERT INTO recon_found ("check", break_key, reference, reason_code, klear_value, internal_value, difference, klear_rows, internal_rows)
  SELECT 'settlement_buffer', 'settlement_buffer/' || b.ref, b.ref,
         CASE WHEN abs(b.k_amount - b.i_amount) > $4::bigint THEN 'amount_mismatch' END,
         b.k_amount, b.i_amount, b.k_amount - b.i_amount, b.k_ids, b.i_ids
    FROM by_ref b WHERE b.k_amount <> b.i_amount
  UNION ALL
  SELECT 'settlement_buffer', 'settlement_buffer/' || kl.ref, kl.ref, 'missing_internal', kl.k_amount, NULL, kl.k_amount, kl.k_ids, '[]'
    FROM k_left kl WHERE NOT EXISTS (SELECT 1 FROM by_amount a WHERE a.k_ref = kl.ref)
  UNION ALL
  SELECT 'settlement_buffer', 'settlement_buffer/internal/' || il.last_external_id, il.ref, 'missing_klear', NULL, il.i_amount, -il.i_amount, '[]', il.i_ids
    FROM i_left il WHERE NOT EXISTS (SELECT 1 FROM by_amount a WHERE a.i_ref = il.ref)
  UNION ALL
  -- Pairs matched by amount are not breaks; recorded with reason NULL (difference 0) for the summary.
  SELECT 'settlement_buffer', 'settlement_buffer/matched/' || a.k_ref || '/' || a.i_ref, a.k_ref, NULL, NULL, NULL, 0, '[]', '[]'
    FROM by_amount a`;

/**
 * Running balance at the end of the cycle's ET day (all movements before it, both sides), and
 * Klear's locked balance then against the withdrawals this product had in flight at that instant.
 * $4 withdrawal-state-change high-water mark, $5 cycle as in keys, $6 tolerance.
 */
export const BUFFER_BALANCES_SQL = `
  WITH ${DAY},
  klear AS (
    SELECT coalesce(sum(h.balance_delta_centicents), 0) AS balance, coalesce(sum(h.locked_balance_delta_centicents), 0) AS locked
      FROM klear_balance_history h, day WHERE h.id <= $3 AND h.created_ts < day.day_end),
  ledger AS (
    SELECT coalesce(sum(p.amount_centicents), 0) AS balance
      FROM journal_posting p JOIN journal_entry e ON e.ledger_seq = p.entry_seq CROSS JOIN day
     WHERE p.account = 'settlement_buffer' AND p.entry_seq <= $2 AND e.effective_at < day.day_end),
  in_flight AS (
    SELECT coalesce(sum(w.amount_centicents), 0) AS locked, coalesce(jsonb_agg(w.id ORDER BY w.id), '[]') AS ids
      FROM withdrawal_request w CROSS JOIN day
     WHERE (SELECT c.to_state FROM withdrawal_state_change c
             WHERE c.request_id = w.id AND c.id <= $4 AND c.at < day.day_end ORDER BY c.id DESC LIMIT 1)
           IN ('submitted', 'processing', 'outcome_unknown'))
  INSERT INTO recon_found ("check", break_key, reference, reason_code, klear_value, internal_value, difference, internal_rows)
  SELECT 'settlement_buffer', 'settlement_buffer/' || $5::text || '/running_balance', 'running_balance',
         CASE WHEN abs(klear.balance - ledger.balance) > $6::bigint THEN 'balance_mismatch' END,
         klear.balance, ledger.balance, klear.balance - ledger.balance, '[]'
    FROM klear, ledger WHERE klear.balance <> ledger.balance
  UNION ALL
  SELECT 'settlement_buffer', 'settlement_buffer/' || $5::text || '/locked', 'locked',
         CASE WHEN abs(klear.locked - in_flight.locked) > $6::bigint THEN 'locked_mismatch' END,
         klear.locked, in_flight.locked, klear.locked - in_flight.locked, in_flight.ids
    FROM klear, in_flight WHERE klear.locked <> in_flight.locked`;
