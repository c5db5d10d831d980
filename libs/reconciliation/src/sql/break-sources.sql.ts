/*
 * What a break derives from, read when it is shown (docs/ledger-and-breaks.md, "What a break derives
 * from"): Klear's own ids of the rows behind its Klear side, and for a running-balance break the
 * buffer movement breaks whose differences it carries.
 */

import { cycleKeyText } from './cycle-key.sql';

/** The reason codes of buffer movement breaks (a group by reference or by external id). */
const MOVEMENT_REASONS = `('missing_internal', 'missing_klear', 'amount_mismatch')`;

/**
 * Klear's ids behind each break ($1 break ids), from its latest observation (filed under the break's
 * cycle: a break belongs to one scope, so to one cycle; $2 names those cycles, so only their partitions
 * are planned and read): a buffer movement's
 * rows are balance-history row numbers, answered as their business_transaction_id; the obligation
 * checks' rows are already Klear's ids (settlement detail, margin detail, funding payment, obligation).
 * A projected break's rows name an estimate snapshot of ours, not a Klear transaction.
 */
export const KLEAR_TRANSACTION_IDS_SQL = `
  SELECT b.id::text AS break_id,
         CASE WHEN b."check" = 'projected' OR o.klear_rows IS NULL THEN '[]'::jsonb
              WHEN b."check" = 'settlement_buffer' THEN
                coalesce((SELECT jsonb_agg(DISTINCT h.business_transaction_id ORDER BY h.business_transaction_id)
                            FROM klear_balance_history h
                           WHERE h.id IN (SELECT x::bigint FROM jsonb_array_elements_text(o.klear_rows) x)), '[]'::jsonb)
              ELSE coalesce((SELECT jsonb_agg(DISTINCT x ORDER BY x) FROM jsonb_array_elements_text(o.klear_rows) x), '[]'::jsonb) END
           AS klear_transaction_ids
    FROM recon_break b
    LEFT JOIN recon_break_observation o ON o.break_id = b.id AND o.run_id = b.last_seen_run
                                        AND o.cycle_key = coalesce(b.cycle, '-infinity') AND o.cycle_key = ANY($2::timestamptz[])
   WHERE b.id = ANY($1::bigint[])`;

/**
 * For each running-balance break among $1: the buffer movement breaks it accumulates, as they were
 * when it was last found. The running balance at a period's end sums every movement before it, so
 * a movement break of this cycle's period or an earlier one (its cycle <= this one) that was found by
 * then and not yet closed then is part of its difference.
 */
export const RUNNING_BALANCE_CAUSES_SQL = `
  SELECT rb.id::text AS break_id, m.id::text AS cause_id, m.break_key, m.reason_code, m.status, m.reference,
         m.difference_centicents::text AS difference_centicents, ${cycleKeyText('m.cycle')} AS cause_cycle_key
    FROM recon_break rb
    JOIN recon_break m ON m."check" = 'settlement_buffer' AND m.reason_code IN ${MOVEMENT_REASONS}
                      AND m.scope_key LIKE 'cycle/%' AND m.cycle <= rb.cycle
                      AND m.first_seen_run <= rb.last_seen_run
                      AND (m.status <> 'closed' OR m.closed_by_run > rb.last_seen_run)
   WHERE rb.id = ANY($1::bigint[]) AND rb."check" = 'settlement_buffer' AND rb.reason_code = 'balance_mismatch'
   ORDER BY rb.id, m.cycle, m.id`;
