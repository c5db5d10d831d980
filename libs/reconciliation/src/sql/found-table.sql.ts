/**
 * Every check writes what it finds into one temporary table, dropped at commit: rows with a
 * difference, each with a reason code, or a NULL reason when the difference is within the check's
 * tolerance (not a break, but part of the totals' difference the explainability check adds up).
 */
export const CREATE_FOUND_TABLE_SQL = `
  CREATE TEMPORARY TABLE recon_found (
    "check" text NOT NULL,
    break_key text NOT NULL,
    subtrader_id text,
    market_ticker text,
    reference text,
    reason_code text,
    klear_value bigint,
    internal_value bigint,
    difference bigint NOT NULL,
    pnl_difference bigint,
    fees_difference bigint,
    klear_rows jsonb NOT NULL DEFAULT '[]',
    internal_rows jsonb NOT NULL DEFAULT '[]'
  ) ON COMMIT DROP`;

/**
 * Per subtrader of the cycle: both sides' totals (pnl - fees) from the maintained summaries, and
 * whether its markets must be examined one by one (see SETTLEMENT_SUBTRADERS_SQL).
 */
export const CREATE_SETTLEMENT_SUBTRADER_TABLE_SQL = `
  CREATE TEMPORARY TABLE recon_settlement_subtrader (
    subtrader_id text PRIMARY KEY,
    klear_total numeric NOT NULL,
    internal_total numeric NOT NULL,
    examined boolean NOT NULL
  ) ON COMMIT DROP`;

/** Rows found so far, per check and reason (NULL reason = tolerated), for the run's summary. */
export const FOUND_SUMMARY_SQL = `
  SELECT "check", reason_code, count(*)::int AS n, sum(difference)::text AS difference,
         coalesce(sum(klear_value), 0)::text AS klear_value, coalesce(sum(internal_value), 0)::text AS internal_value
    FROM recon_found GROUP BY "check", reason_code ORDER BY "check", reason_code NULLS FIRST`;
