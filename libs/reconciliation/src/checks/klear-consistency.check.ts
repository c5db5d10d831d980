import { withCycleScans } from '@app/db';
import { breakKeySql } from '../sql/keys';
import type { CycleContext, ReconCheck } from './check';

/*
 * Klear's figures against each other (docs/ledger-and-breaks.md, "Klear consistency"): a difference
 * here is Klear's. $1 obligation ids, $2 cycle as in keys, $3 tolerance, $4 the cycle (the details' partition key).
 */

/**
 * The obligation's own totals against the sums of its details (read from the maintained summaries):
 * its amount is the details' totals, less the margin deltas, plus the funding payments (live API).
 */
const FIELDS_SQL = `
  WITH o AS (
    SELECT sum(pnl_centicents) AS pnl, sum(fees_centicents) AS fees, sum(maintenance_margin_centicents) AS mm,
           sum(amount_centicents) AS amount, jsonb_agg(id ORDER BY id) AS ids
      FROM klear_obligation WHERE id = ANY($1::text[])),
  d AS (
    SELECT coalesce(sum(pnl_centicents), 0) AS pnl, coalesce(sum(fees_centicents), 0) AS fees, coalesce(sum(total_centicents), 0) AS total
      FROM klear_settlement_summary WHERE obligation_id = ANY($1::text[])),
  m AS (
    SELECT coalesce(sum(maintenance_margin_centicents), 0) AS mm, coalesce(sum(maintenance_margin_delta_centicents), 0) AS delta
      FROM klear_margin_detail WHERE cycle = $4 AND obligation_id = ANY($1::text[])),
  fu AS (
    SELECT coalesce(sum(funding_amount_centicents), 0) AS funding FROM klear_funding_payment WHERE obligation_id = ANY($1::text[])),
  fields AS (
    SELECT x.field, x.own, x.from_details, o.ids
      FROM o, d, m, fu,
           LATERAL (VALUES ('pnl', o.pnl, d.pnl), ('fees', o.fees, d.fees), ('maintenance_margin', o.mm, m.mm),
                           ('amount', o.amount, d.total - m.delta + fu.funding)) AS x(field, own, from_details)
     WHERE o.ids IS NOT NULL)
  INSERT INTO recon_found ("check", break_key, reference, reason_code, tolerated, klear_value, internal_value, difference, klear_rows)
  SELECT 'klear_consistency', ${breakKeySql(`'klear_consistency'`, '$2::text', 'field')}, field, 'klear_inconsistent',
         abs(own - from_details) <= $3::bigint, own, from_details, own - from_details, ids
    FROM fields WHERE own <> from_details`;

/**
 * Each settlement detail whose total is not its pnl minus its fees. The summaries count such
 * details per subtrader (inconsistent_rows, maintained by the triggers), so only those subtraders'
 * details are read.
 */
const DETAIL_TOTALS_SQL = `
  INSERT INTO recon_found ("check", break_key, subtrader_id, market_ticker, reference, reason_code, tolerated, rollup,
                           klear_value, internal_value, difference, klear_rows)
  SELECT 'klear_consistency', ${breakKeySql(`'klear_consistency'`, '$2::text', `'detail_total'`, 'd.id')}, d.subtrader_id, d.market_ticker, 'detail_total',
         'klear_inconsistent', abs(d.total_centicents - (d.pnl_centicents - d.fees_centicents)) <= $3::bigint, 'detail_total',
         d.total_centicents, d.pnl_centicents - d.fees_centicents, d.total_centicents - (d.pnl_centicents - d.fees_centicents), jsonb_build_array(d.id)
    FROM klear_settlement_summary s
    JOIN klear_settlement_detail d ON d.cycle = $4 AND d.obligation_id = s.obligation_id AND d.subtrader_id = s.subtrader_id
   WHERE s.obligation_id = ANY($1::text[]) AND s.inconsistent_rows <> 0 AND d.total_centicents <> d.pnl_centicents - d.fees_centicents`;

/**
 * Per subtrader (or netted group: its rows carry margin_group_id) the cycle lists, Klear's margin delta against its requirement minus its requirement
 * in the previous cycle ($5: that cycle's obligation ids, $6 its execution time; a subtrader it did not list had none).
 * $4 the cycle: the partition key, so that each read of the margin details touches one month's partition.
 * Only when a previous cycle is ingested. A subtrader the previous cycle listed and this one does not
 * has no published delta to check (what its release did to the amount is not a figure Klear states).
 */
const MARGIN_DELTAS_SQL = `
  WITH cur AS (
    SELECT coalesce(m.margin_group_id, m.subtrader_id) AS subtrader_id, sum(m.maintenance_margin_centicents) AS requirement,
           sum(m.maintenance_margin_delta_centicents) AS delta, jsonb_agg(m.id ORDER BY m.id) AS ids
      FROM klear_margin_detail m WHERE m.cycle = $4 AND m.obligation_id = ANY($1::text[]) GROUP BY coalesce(m.margin_group_id, m.subtrader_id)),
  prev AS (
    SELECT coalesce(m.margin_group_id, m.subtrader_id) AS subtrader_id, sum(m.maintenance_margin_centicents) AS requirement, jsonb_agg(m.id ORDER BY m.id) AS ids
      FROM klear_margin_detail m WHERE m.cycle = $6 AND m.obligation_id = ANY($5::text[]) GROUP BY coalesce(m.margin_group_id, m.subtrader_id)),
  j AS (
    SELECT cur.subtrader_id, cur.delta, cur.requirement - coalesce(prev.requirement, 0) AS from_requirements, cur.ids || coalesce(prev.ids, '[]') AS ids
      FROM cur LEFT JOIN prev ON prev.subtrader_id = cur.subtrader_id)
  INSERT INTO recon_found ("check", break_key, subtrader_id, reference, reason_code, tolerated, rollup, klear_value, internal_value, difference, klear_rows)
  SELECT 'klear_consistency', ${breakKeySql(`'klear_consistency'`, '$2::text', `'margin_delta'`, 'j.subtrader_id')}, j.subtrader_id, 'margin_delta',
         'klear_inconsistent', abs(j.delta - j.from_requirements) <= $3::bigint, 'margin_delta',
         j.delta, j.from_requirements, j.delta - j.from_requirements, j.ids
    FROM j WHERE j.delta <> j.from_requirements AND cardinality($5::text[]) > 0`;

/** The previous ingested cycle's obligation of the same asset class. $1 cycle, $2 asset class. */
const PREVIOUS_CYCLE_SQL = `
  SELECT id, execution_time, last_updated_ts, content_sha256 FROM klear_obligation
   WHERE asset_class = $2 AND execution_time = (SELECT max(execution_time) FROM klear_obligation WHERE execution_time < $1 AND asset_class = $2) ORDER BY id`;

export const klearConsistencyCheck: ReconCheck<CycleContext> = {
  name: 'klear_consistency',
  tolerance: (settings) => settings.tolerances.klearConsistency,
  async prepare(q, c) {
    const previous = (await q.query(PREVIOUS_CYCLE_SQL, [c.cycle, c.assetClass])) as Array<{
      id: string;
      execution_time: Date;
      last_updated_ts: Date;
      content_sha256: string;
    }>;
    const tolerance = c.settings.tolerances.klearConsistency.toString();
    const previousIds = previous.map((o) => o.id);
    return {
      inputs: {
        previous_cycle: previous[0]?.execution_time.toISOString() ?? null,
        previous_obligations: previous.map((o) => ({
          id: o.id,
          last_updated_ts: o.last_updated_ts.toISOString(),
          content_sha256: o.content_sha256,
        })),
      },
      async execute(tx) {
        // $4, the cycle, is the details' partition key: each read prunes to the cycle's month.
        // Whole cycles' margin rows by bitmap scans, never their whole month (withCycleScans).
        await withCycleScans(tx, () => tx.query(FIELDS_SQL, [c.obligationIds, c.keyText, tolerance, c.cycle]));
        // A probe by key (the few subtraders whose summaries count inconsistent rows) keeps the planner's
        // choice: under bitmap scans only it read the cycle's million details (16,129 buffers, growth day 1).
        await tx.query(DETAIL_TOTALS_SQL, [c.obligationIds, c.keyText, tolerance, c.cycle]);
        await withCycleScans(tx, async () => {
          await tx.query(MARGIN_DELTAS_SQL, [
            c.obligationIds,
            c.keyText,
            tolerance,
            c.cycle,
            previousIds,
            previous[0]?.execution_time ?? new Date(0),
          ]);
        });
      },
    };
  },
};
