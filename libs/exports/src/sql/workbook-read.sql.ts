/*
 * What the daily workbook reads from ingestion, the ledger, reconciliation, withdrawals and jobs
 * (docs/daily-workbook.md). Table and column names of the other capabilities appear only here and in
 * export-file.repository.ts, so a rename there is an edit here.
 *
 * Per-cycle statements take `$1` cycles and `$2` ledger high-water marks (one per cycle, the run's):
 * `unnest($1, $2)` is the scope every ledger sum is bounded by. Every read of a table partitioned by
 * cycle (migrations/1796232000000-CyclePartitions.ts) also names its partition key as a constant of the
 * statement (`d.cycle = ANY($1)`, `p.cycle_key = ANY($1)`, a day's bounds), so the planner prunes to the
 * day's month and a workbook costs the same whatever history the tables hold
 * (test/reconciliation/cycle-partition-reads.test.ts).
 */

const SCOPE = `scope AS (SELECT * FROM unnest($1::timestamptz[], $2::bigint[]) AS s(cycle, hwm))`;

/**
 * The scope's postings (`p` joined to `s`): of its cycles, up to each cycle's high-water mark. The
 * cycles are also named as constants of `p.cycle` (with the partition key): with those the planner reads
 * the cycle by the (account, cycle) index, not its whole month. `entry_seq + 0` keeps the primary key
 * (entry_seq first) out of the plan: as an index condition, "every entry up to the mark" is a range
 * over the month's history, which the planner took for selective and read for every cycle of the month
 * (a day-10 workbook read 2.6x the pages of day 1, 2026-12-04).
 */
const POSTINGS_IN_SCOPE = `JOIN scope s ON s.cycle = p.cycle AND p.entry_seq + 0 <= s.hwm AND p.cycle_key = ANY($1::timestamptz[]) AND p.cycle = ANY($1::timestamptz[])`;

/** The day's obligations, with the two sums that bridge Klear's settlement total to the obligation amount. */
export const CYCLES_SQL = `
  SELECT o.id, o.execution_time, o.amount_centicents::text AS amount, o.pnl_centicents::text AS pnl, o.fees_centicents::text AS fees,
         o.maintenance_margin_centicents::text AS mm, o.last_updated_ts,
         d.total::text AS details_total, d.pnl_less_fees::text AS details_pnl_less_fees,
         (SELECT coalesce(sum(m.maintenance_margin_delta_centicents), 0) FROM klear_margin_detail m
           WHERE m.obligation_id = o.id AND m.cycle = o.execution_time AND m.cycle >= $1 AND m.cycle < $2)::text AS margin_delta
    FROM klear_obligation o,
         LATERAL (SELECT coalesce(sum(total_centicents), 0) AS total, coalesce(sum(pnl_centicents - fees_centicents), 0) AS pnl_less_fees
                    FROM klear_settlement_detail
                   WHERE obligation_id = o.id AND cycle = o.execution_time AND cycle >= $1 AND cycle < $2) d
   WHERE o.execution_time >= $1 AND o.execution_time < $2
   ORDER BY o.execution_time, o.id`;

/**
 * Per cycle and asset class (each reconciled by its own run), its latest successful run, with what
 * happened since: ledger entries of the cycle booked after its high-water mark, and whether Klear's
 * obligation is no longer the one the run read.
 */
export const LATEST_RUNS_SQL = `
  WITH latest AS (
    SELECT DISTINCT ON (r.cycle, r.asset_class) r.id, r.cycle, r.asset_class, r.inputs, r.summary, r.finished_at
      FROM recon_run r
     WHERE r.scope = 'cycle' AND r.cycle = ANY($1::timestamptz[]) AND r.status = 'succeeded'
     ORDER BY r.cycle, r.asset_class, r.id DESC)
  SELECT l.id::text AS id, l.cycle, l.inputs->>'ledger_seq' AS hwm, l.finished_at, coalesce(l.inputs->'tolerances', '{}'::jsonb) AS tolerances,
         coalesce((SELECT jsonb_agg(jsonb_build_object('check', c.key, 'count', (c.value->>'tolerated')::int, 'difference', c.value->>'tolerated_difference') ORDER BY c.key)
                     FROM jsonb_each(l.summary->'checks') c WHERE (c.value->>'tolerated')::int > 0), '[]') AS tolerated,
         (SELECT count(*) FROM journal_entry e WHERE e.cycle = l.cycle AND e.ledger_seq > (l.inputs->>'ledger_seq')::bigint)::int AS later_entries,
         coalesce(l.inputs ? 'obligations' AND EXISTS (
           SELECT 1 FROM klear_obligation o
            WHERE o.execution_time = l.cycle
              AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(l.inputs->'obligations') x
                               WHERE x->>'id' = o.id AND x->>'content_sha256' = o.content_sha256)), false) AS klear_changed
    FROM latest l
   ORDER BY l.cycle, l.asset_class COLLATE "C"`;

/** Ledger figures per `groupBy` over the scope's cycles, bounded per cycle by the run's high-water mark. */
const INTERNAL_SUMS = (groupBy: string) => `
  SELECT ${groupBy} AS ${groupBy.split('.')[1]},
         coalesce(sum(p.amount_centicents) FILTER (WHERE p.account = 'trading_pnl'), 0) AS pnl,
         -coalesce(sum(p.amount_centicents) FILTER (WHERE p.account = 'trading_fees'), 0) AS fees,
         coalesce(sum(p.amount_centicents) FILTER (WHERE p.account IN ('trading_pnl', 'trading_fees')), 0) AS total,
         coalesce(sum(p.amount_centicents) FILTER (WHERE p.account = 'maintenance_margin'), 0) AS mm
    FROM journal_posting p ${POSTINGS_IN_SCOPE}
   WHERE p.account IN ('trading_pnl', 'trading_fees', 'maintenance_margin')
   GROUP BY 1`;

/** Klear (sum of details; its total is pnl - fees, the figure reconciliation compares) vs ledger per cycle. */
export const CYCLE_TOTALS_SQL = `
  WITH ${SCOPE},
  k AS (SELECT o.execution_time AS cycle, sum(d.pnl_centicents) AS pnl, sum(d.fees_centicents) AS fees, sum(d.pnl_centicents - d.fees_centicents) AS total
          FROM klear_obligation o JOIN klear_settlement_detail d ON d.obligation_id = o.id AND d.cycle = ANY($1::timestamptz[])
         WHERE o.execution_time IN (SELECT cycle FROM scope) GROUP BY 1),
  km AS (SELECT o.execution_time AS cycle, sum(m.maintenance_margin_centicents) AS mm
           FROM klear_obligation o JOIN klear_margin_detail m ON m.obligation_id = o.id AND m.cycle = ANY($1::timestamptz[])
          WHERE o.execution_time IN (SELECT cycle FROM scope) GROUP BY 1),
  i AS (${INTERNAL_SUMS('p.cycle')})
  SELECT s.cycle, k.pnl::text AS k_pnl, k.fees::text AS k_fees, k.total::text AS k_total, km.mm::text AS k_mm,
         i.pnl::text AS i_pnl, i.fees::text AS i_fees, i.total::text AS i_total, i.mm::text AS i_mm
    FROM scope s LEFT JOIN k ON k.cycle = s.cycle LEFT JOIN km ON km.cycle = s.cycle LEFT JOIN i ON i.cycle = s.cycle
   ORDER BY s.cycle`;

/** One row per subtrader over the day's cycles; `$3` adds subtraders that only have breaks. */
export const SUBTRADERS_SQL = `
  WITH ${SCOPE},
  k AS (SELECT d.subtrader_id, sum(d.pnl_centicents) AS pnl, sum(d.fees_centicents) AS fees, sum(d.pnl_centicents - d.fees_centicents) AS total
          FROM klear_obligation o JOIN klear_settlement_detail d ON d.obligation_id = o.id AND d.cycle = ANY($1::timestamptz[])
         WHERE o.execution_time IN (SELECT cycle FROM scope) GROUP BY 1),
  km AS (SELECT m.subtrader_id, sum(m.maintenance_margin_centicents) AS mm
           FROM klear_obligation o JOIN klear_margin_detail m ON m.obligation_id = o.id AND m.cycle = ANY($1::timestamptz[])
          WHERE o.execution_time IN (SELECT cycle FROM scope) GROUP BY 1),
  i AS (${INTERNAL_SUMS('p.subtrader_id')}),
  ids AS (SELECT subtrader_id FROM k UNION SELECT subtrader_id FROM km UNION SELECT subtrader_id FROM i WHERE subtrader_id IS NOT NULL
          UNION SELECT unnest($3::text[]))
  SELECT ids.subtrader_id, (k.subtrader_id IS NOT NULL OR km.subtrader_id IS NOT NULL) AS in_klear, (i.subtrader_id IS NOT NULL) AS in_ledger,
         k.pnl::text AS k_pnl, k.fees::text AS k_fees, k.total::text AS k_total, km.mm::text AS k_mm,
         i.pnl::text AS i_pnl, i.fees::text AS i_fees, i.total::text AS i_total, i.mm::text AS i_mm
    FROM ids LEFT JOIN k USING (subtrader_id) LEFT JOIN km USING (subtrader_id) LEFT JOIN i USING (subtrader_id)
   ORDER BY ids.subtrader_id`;

/**
 * A break's dates and who closed it: first seen = the row's creation by the run that found it;
 * closed = the closing run's end, or the resolution time.
 */
const BREAK_TIMES = `
  SELECT b.*,
         CASE WHEN b.status = 'closed' THEN coalesce(cr.finished_at, b.updated_at)
              WHEN b.status = 'resolved' THEN coalesce(b.resolved_at, b.updated_at) END AS closed_at,
         CASE WHEN b.status = 'closed' THEN 'run ' || b.closed_by_run
              WHEN b.status = 'resolved' THEN b.resolved_by || coalesce(', co-signed by ' || b.cosigned_by, '') END AS closed_by
    FROM recon_break b LEFT JOIN recon_run cr ON cr.id = b.closed_by_run`;

const BREAK_COLUMNS = `
  b.id::text AS id, b.cycle, b.market_ticker, b.reference, b.status, b.created_at AS first_seen_at, b.closed_at, b.closed_by, b.assignee,
  CASE WHEN b.resolution_reason IS NOT NULL
       THEN b.resolution_reason || coalesce(' ' || b.resolution_reference, '') || coalesce(': ' || b.resolution_note, '') END AS resolution,
  (SELECT c.body FROM recon_break_comment c WHERE c.break_id = b.id ORDER BY c.created_at DESC, c.id DESC LIMIT 1) AS last_comment`;

/**
 * The breaks the given runs ($1) of the given cycles ($2, the observations' partition key) found, with
 * the figures each run observed and the break's state now.
 * Klear's margin rows without a subtrader id are listed under '' as on the Subtraders sheet.
 */
export const FOUND_BREAKS_SQL = `
  WITH b AS (${BREAK_TIMES} WHERE b.id IN (SELECT break_id FROM recon_break_observation WHERE run_id = ANY($1::bigint[]) AND cycle_key = ANY($2::timestamptz[])))
  SELECT ${BREAK_COLUMNS}, o.break_key AS key, o."check", o.reason_code, o.run_id::text AS found_by_run,
         CASE WHEN o.reason_code = 'missing_subtrader_id' THEN coalesce(o.subtrader_id, '') ELSE o.subtrader_id END AS subtrader_id,
         o.klear_value_centicents::text AS klear, o.internal_value_centicents::text AS internal, o.difference_centicents::text AS difference,
         o.pnl_difference_centicents::text AS pnl_difference, o.fees_difference_centicents::text AS fees_difference
    FROM recon_break_observation o JOIN b ON b.id = o.break_id
   WHERE o.run_id = ANY($1::bigint[]) AND o.cycle_key = ANY($2::timestamptz[]) AND o."check" <> 'projected'
   ORDER BY o."check", o.break_key, b.id`;

/** Breaks closed (by a run) or resolved in [$1, $2), except those in $3 (already listed as found). */
export const BREAKS_CLOSED_DURING_SQL = `
  WITH b AS (${BREAK_TIMES} WHERE b.status IN ('closed', 'resolved') AND b."check" <> 'projected')
  SELECT ${BREAK_COLUMNS}, b.break_key AS key, b."check", b.reason_code, NULL AS found_by_run,
         CASE WHEN b.reason_code = 'missing_subtrader_id' THEN coalesce(b.subtrader_id, '') ELSE b.subtrader_id END AS subtrader_id,
         b.klear_value_centicents::text AS klear, b.internal_value_centicents::text AS internal, b.difference_centicents::text AS difference,
         b.pnl_difference_centicents::text AS pnl_difference, b.fees_difference_centicents::text AS fees_difference
    FROM b
   WHERE b.closed_at >= $1 AND b.closed_at < $2 AND b.id <> ALL($3::bigint[])
   ORDER BY b."check", b.break_key, b.id`;

/** Breaks of cycles before $1 still being worked: on their own days' workbooks, counted on this Summary. */
export const OPEN_BREAKS_BEFORE_SQL = `
  SELECT count(*)::int AS n, coalesce(sum(difference_centicents), 0)::text AS difference
    FROM recon_break WHERE status IN ('open', 'acknowledged', 'pending_write_off') AND "check" <> 'projected' AND cycle < $1`;

/** Klear's buffer at an instant: the sum of every balance-history movement before it. */
export const BUFFER_AT_SQL = `
  SELECT count(*)::int AS n, coalesce(sum(balance_delta_centicents), 0)::text AS available,
         coalesce(sum(locked_balance_delta_centicents), 0)::text AS locked
    FROM klear_balance_history WHERE created_ts < $1`;

/** Klear's buffer movements of the day vs the ledger's settlement_buffer postings effective that day. */
export const BUFFER_TOTALS_SQL = `
  SELECT (SELECT count(*) FROM klear_balance_history WHERE created_ts >= $1 AND created_ts < $2)::int AS k_n,
         (SELECT coalesce(sum(balance_delta_centicents), 0) FROM klear_balance_history WHERE created_ts >= $1 AND created_ts < $2)::text AS k_sum,
         (SELECT count(*) FROM journal_posting p JOIN journal_entry e ON e.ledger_seq = p.entry_seq
           WHERE p.account = 'settlement_buffer' AND e.effective_at >= $1 AND e.effective_at < $2)::int AS i_n,
         (SELECT coalesce(sum(p.amount_centicents), 0) FROM journal_posting p JOIN journal_entry e ON e.ledger_seq = p.entry_seq
           WHERE p.account = 'settlement_buffer' AND e.effective_at >= $1 AND e.effective_at < $2)::text AS i_sum`;

/** The day's Klear buffer movements with the ledger movement of the same reference, and ledger-only movements. */
export const BUFFER_MOVEMENTS_SQL = `
  WITH k AS (SELECT * FROM klear_balance_history WHERE created_ts >= $1 AND created_ts < $2),
  i AS (SELECT e.external_id, e.effective_at, e.description, e.business_reference, sum(p.amount_centicents) AS amount,
               -- The break key of its movement group (docs/ledger-and-breaks.md): its reference (a reversal's is the reversed entry's), else its root entry.
               CASE WHEN (CASE WHEN e.reverses_external_id IS NULL THEN e.business_reference ELSE r.business_reference END) IS NOT NULL
                    THEN 'settlement_buffer/' || recon_key_part(CASE WHEN e.reverses_external_id IS NULL THEN e.business_reference ELSE r.business_reference END)
                    ELSE 'settlement_buffer/internal/' || recon_key_part(coalesce(r.external_id, e.external_id)) END AS break_key
          FROM journal_entry e JOIN journal_posting p ON p.entry_seq = e.ledger_seq AND p.account = 'settlement_buffer'
          LEFT JOIN journal_entry r ON r.external_id = e.reverses_external_id
         WHERE e.effective_at >= $1 AND e.effective_at < $2 GROUP BY e.ledger_seq, r.external_id, r.business_reference),
  m AS (SELECT k.id AS k_id, k.created_ts, k.business_transaction_id, k.reason, k.balance_delta_centicents, k.locked_balance_delta_centicents,
               i.external_id, i.effective_at, i.description, i.amount, i.break_key AS i_break_key
          FROM k FULL JOIN i ON i.business_reference = k.business_transaction_id)
  SELECT m.created_ts, m.business_transaction_id, m.reason, m.balance_delta_centicents::text AS k_delta,
         m.locked_balance_delta_centicents::text AS k_locked, m.external_id, m.effective_at, m.description, m.amount::text AS i_amount,
         b.key AS break_key, b.reason_code AS break_reason, b.status AS break_status
    FROM m LEFT JOIN LATERAL (
           SELECT break_key AS key, reason_code, status FROM recon_break b
            WHERE b.break_key IN ('settlement_buffer/' || recon_key_part(m.business_transaction_id), m.i_break_key)
            ORDER BY b.id DESC LIMIT 1) b ON true
   ORDER BY coalesce(m.created_ts, m.effective_at), m.business_transaction_id, m.external_id`;

export const WITHDRAWAL_TOTALS_SQL = `
  SELECT state, count(*)::int AS n, sum(amount_centicents)::text AS amount FROM withdrawal_request
   WHERE created_at >= $1 AND created_at < $2 GROUP BY state ORDER BY state`;

/** Requests made or moved during the day, with approvals and state history flattened for a sheet. */
export const WITHDRAWALS_SQL = `
  SELECT w.id::text AS id, w.created_at, w.requester_name, w.amount_centicents::text AS amount, w.purpose, w.state,
         w.klear_withdrawal_id, w.klear_status, w.submitted_at,
         coalesce((SELECT string_agg(a.decision || ' by ' || a.approver_name || ' at ' || to_char(a.decided_at AT TIME ZONE 'America/New_York', 'YYYY-MM-DD HH24:MI:SS') || ' ET',
                                     '; ' ORDER BY a.decided_at, a.id) FROM withdrawal_approval a WHERE a.request_id = w.id), '') AS approvals,
         coalesce((SELECT string_agg(coalesce(s.from_state, '(new)') || ' -> ' || s.to_state || ' by ' || s.actor || ' at '
                                     || to_char(s.at AT TIME ZONE 'America/New_York', 'YYYY-MM-DD HH24:MI:SS') || ' ET', '; ' ORDER BY s.at, s.id)
                     FROM withdrawal_state_change s WHERE s.request_id = w.id), '') AS history
    FROM withdrawal_request w
   WHERE (w.created_at >= $1 AND w.created_at < $2)
      OR EXISTS (SELECT 1 FROM withdrawal_state_change s WHERE s.request_id = w.id AND s.at >= $1 AND s.at < $2)
   ORDER BY w.created_at, w.id`;

export const JOB_HEALTH_SQL = `
  SELECT job, max(finished_at) FILTER (WHERE status = 'succeeded') AS last_success,
         (array_agg(status ORDER BY started_at DESC, id DESC))[1] AS last_status, max(started_at) AS last_run
    FROM job_run WHERE status <> 'skipped' GROUP BY job ORDER BY job`;

/** The audit chain's last row in the snapshot: the anchor the Summary publishes (docs/security.md, "Audit trail"). */
export const AUDIT_ANCHOR_SQL = `SELECT a.seq::text AS seq, a.hash, a.mac, a.mac_key_id FROM audit_log a ORDER BY a.seq DESC LIMIT 1`;

/** The next day's cycles ($1, $2 its bounds) and whether each has a successful run. */
export const NEXT_DAY_CYCLES_SQL = `
  SELECT o.execution_time AS cycle,
         EXISTS (SELECT 1 FROM recon_run r WHERE r.scope = 'cycle' AND r.cycle = o.execution_time AND r.status = 'succeeded') AS reconciled
    FROM klear_obligation o WHERE o.execution_time >= $1 AND o.execution_time < $2
   GROUP BY o.execution_time ORDER BY o.execution_time`;

/** The next day's ($2) latest workbook and the latest cycle before it ($1 its start). */
export const NEXT_DAY_WORKBOOK_SQL = `
  SELECT (SELECT max(execution_time) FROM klear_obligation WHERE execution_time < $1) AS previous_cycle, f.version, f.created_at
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (SELECT version, created_at FROM export_file WHERE settlement_date = $2::date ORDER BY version DESC LIMIT 1) f ON true`;

/** Detail rows (Klear) full-joined with the ledger's per-market figures; ordered so the sheet reads cycle by cycle. */
export const SETTLEMENT_DETAILS_SQL = `
  WITH ${SCOPE},
  k AS (SELECT o.execution_time AS cycle, o.asset_class, d.subtrader_id, d.market_ticker, d.id, d.pnl_centicents, d.fees_centicents, d.total_centicents
          FROM klear_obligation o JOIN klear_settlement_detail d ON d.obligation_id = o.id AND d.cycle = ANY($1::timestamptz[])
         WHERE o.execution_time IN (SELECT cycle FROM scope)),
  i AS (SELECT p.cycle, p.subtrader_id, p.market_ticker,
               coalesce(sum(p.amount_centicents) FILTER (WHERE p.account = 'trading_pnl'), 0) AS pnl,
               -coalesce(sum(p.amount_centicents) FILTER (WHERE p.account = 'trading_fees'), 0) AS fees,
               sum(p.amount_centicents) AS total
          FROM journal_posting p ${POSTINGS_IN_SCOPE}
         WHERE p.account IN ('trading_pnl', 'trading_fees')
         GROUP BY 1, 2, 3)
  SELECT (extract(epoch FROM coalesce(k.cycle, i.cycle)) * 1000)::bigint::text, coalesce(k.subtrader_id, i.subtrader_id), coalesce(k.market_ticker, i.market_ticker), k.id,
         k.pnl_centicents::text, k.fees_centicents::text, k.total_centicents::text, i.pnl::text, i.fees::text, i.total::text,
         (coalesce(k.total_centicents, 0) - coalesce(i.total, 0))::text,
         CASE WHEN k.id IS NULL THEN 'missing_klear' WHEN i.total IS NULL THEN 'missing_internal'
              WHEN k.pnl_centicents = i.pnl AND k.fees_centicents = i.fees THEN 'matched' ELSE 'mismatch' END,
         k.asset_class
    FROM k FULL JOIN i ON i.cycle = k.cycle AND i.subtrader_id = k.subtrader_id AND i.market_ticker = k.market_ticker
   ORDER BY coalesce(k.cycle, i.cycle), 2, 3, 4`;

/**
 * The netted group a subtrader belonged to at a cycle (the membership valid then; else, for a group
 * first pulled later, the membership first pulled), as the maintenance-margin check reads it.
 * `cycle` and `subtrader` are SQL expressions.
 */
const GROUP_AT = (cycle: string, subtrader: string) => `
  (SELECT m.group_id FROM klear_subtrader_group_membership m
    WHERE m.subtrader_id = ${subtrader}
      AND ((m.valid_from <= ${cycle} AND (m.valid_to IS NULL OR m.valid_to > ${cycle}))
           OR (m.valid_from > ${cycle} AND m.valid_from = (SELECT min(x.valid_from) FROM klear_subtrader_group_membership x WHERE x.group_id = m.group_id)))
    ORDER BY m.valid_from <= ${cycle} DESC, m.group_id LIMIT 1)`;

/**
 * Funding per (cycle, subtrader, market): Klear's funding payments of the cycle's obligations (summed
 * over the funding times; its asset class) against the ledger's `funding` postings under the run's
 * bound, with the subtrader's netted group at the cycle. Ledger-only rows have no asset class.
 */
export const FUNDING_SQL = `
  WITH ${SCOPE},
  k AS (SELECT o.execution_time AS cycle, o.asset_class, f.subtrader_id, f.market_ticker, count(*)::int AS payments, sum(f.funding_amount_centicents) AS amount
          FROM klear_obligation o JOIN klear_funding_payment f ON f.obligation_id = o.id
         WHERE o.execution_time IN (SELECT cycle FROM scope) GROUP BY 1, 2, 3, 4),
  i AS (SELECT p.cycle, p.subtrader_id, p.market_ticker, sum(p.amount_centicents) AS amount
          FROM journal_posting p ${POSTINGS_IN_SCOPE}
         WHERE p.account = 'funding' AND p.subtrader_id IS NOT NULL GROUP BY 1, 2, 3),
  j AS (SELECT coalesce(k.cycle, i.cycle) AS cycle, k.asset_class, coalesce(k.subtrader_id, i.subtrader_id) AS subtrader_id,
               coalesce(k.market_ticker, i.market_ticker) AS market_ticker, coalesce(k.payments, 0) AS payments, k.amount AS k_amount, i.amount AS i_amount
          FROM k FULL JOIN i ON i.cycle = k.cycle AND i.subtrader_id = k.subtrader_id AND i.market_ticker = k.market_ticker)
  SELECT j.cycle, j.asset_class, j.subtrader_id, ${GROUP_AT('j.cycle', 'j.subtrader_id')} AS group_id, j.market_ticker, j.payments,
         j.k_amount::text AS klear, j.i_amount::text AS internal, (coalesce(j.k_amount, 0) - coalesce(j.i_amount, 0))::text AS difference,
         CASE WHEN j.k_amount IS NULL THEN 'missing_klear' WHEN j.i_amount IS NULL THEN 'missing_internal'
              WHEN j.k_amount = j.i_amount THEN 'matched' ELSE 'mismatch' END AS match
    FROM j
   ORDER BY j.cycle, j.subtrader_id, j.market_ticker`;

/** Each subtrader's netted group at the latest of the given cycles ($1), for the Subtraders sheet. */
export const SUBTRADER_GROUPS_SQL = `
  SELECT s.subtrader_id, ${GROUP_AT('(SELECT max(c) FROM unnest($1::timestamptz[]) AS c)', 's.subtrader_id')} AS group_id
    FROM unnest($2::text[]) AS s(subtrader_id)`;
