/**
 * Every check writes what it finds into one temporary table of the run's session: one row per
 * difference, with its reason (or 'pending' until the check's reason step) and whether it is
 * tolerated. A tolerated row is not a break, but part of the totals' difference that explainability
 * adds up and that the run reports as tolerated.
 *
 * `rollup` names the group whose tolerated differences are also held to the tolerance together
 * (per subtrader, then in total; see TOLERANCE_AGGREGATES_SQL); NULL for rows that are aggregates
 * themselves (an obligation field, a running balance).
 */
export const CREATE_FOUND_TABLE_SQL = `
  CREATE TEMPORARY TABLE recon_found (
    "check" text NOT NULL,
    break_key text NOT NULL,
    subtrader_id text,
    market_ticker text,
    reference text,
    reason_code text NOT NULL,
    tolerated boolean NOT NULL DEFAULT false,
    rollup text,
    klear_value numeric,
    internal_value numeric,
    difference numeric NOT NULL,
    pnl_difference numeric,
    fees_difference numeric,
    klear_rows jsonb NOT NULL DEFAULT '[]',
    internal_rows jsonb NOT NULL DEFAULT '[]'
  )`;

/**
 * Per subtrader of the cycle: both sides' totals from the maintained summaries, and whether its
 * markets must be examined one by one (see the settlement-details and funding checks).
 */
const createSubtraderTableSql = (name: string) => `
  CREATE TEMPORARY TABLE ${name} (
    subtrader_id text PRIMARY KEY,
    klear_total numeric NOT NULL,
    internal_total numeric NOT NULL,
    examined boolean NOT NULL
  )`;

/** The settlement-details check's subtraders (totals pnl - fees). */
export const CREATE_SETTLEMENT_SUBTRADER_TABLE_SQL = createSubtraderTableSql('recon_settlement_subtrader');

/** The funding check's subtraders (funding totals). */
export const CREATE_FUNDING_SUBTRADER_TABLE_SQL = createSubtraderTableSql('recon_funding_subtrader');

/** Rows found, per check, reason and tolerated, for the run's summary. */
export const FOUND_SUMMARY_SQL = `
  SELECT "check", reason_code, tolerated, count(*)::int AS n, sum(difference)::text AS difference,
         coalesce(sum(klear_value), 0)::text AS klear_value, coalesce(sum(internal_value), 0)::text AS internal_value
    FROM recon_found GROUP BY "check", reason_code, tolerated ORDER BY "check", tolerated, reason_code`;

/**
 * A difference is tolerated only if it is within its check's tolerance on its own, together with the
 * other tolerated differences of its subtrader, and together with all the tolerated differences of
 * its group in the run. Net sums are compared (a +10 and a -10 leave the totals equal); PnL and fees
 * separately where a row has them. $1 checks, $2 their tolerances (parallel arrays).
 */
const AGGREGATE_OVER = (groupBy: string) => `
  WITH t AS (SELECT * FROM unnest($1::text[], $2::numeric[]) AS t("check", tolerance)),
  over AS (
    SELECT f."check", f.rollup${groupBy ? `, f.${groupBy}` : ''}
      FROM recon_found f JOIN t ON t."check" = f."check"
     WHERE f.tolerated AND f.rollup IS NOT NULL
     GROUP BY f."check", f.rollup${groupBy ? `, f.${groupBy}` : ''}, t.tolerance
    HAVING abs(sum(coalesce(f.pnl_difference, f.difference))) > t.tolerance OR abs(sum(coalesce(f.fees_difference, 0))) > t.tolerance)
  UPDATE recon_found f SET tolerated = false
    FROM over o
   WHERE f.tolerated AND f."check" = o."check" AND f.rollup = o.rollup${groupBy ? ` AND f.${groupBy} IS NOT DISTINCT FROM o.${groupBy}` : ''}`;

export const TOLERANCE_AGGREGATES_SQL = [AGGREGATE_OVER('subtrader_id'), AGGREGATE_OVER('')];
