import { cycleKeyText } from '../recon-inputs';
import { ExplainabilityViolated } from '../reconciliation-errors';
import { breakKeySql } from '../sql/keys';
import type { ProjectedContext, ReconCheck } from './check';

/*
 * Projected breaks of one asset class (docs/ledger-and-breaks.md, "Projected"): the latest settlement
 * estimate's lines of that class against the ledger's bookings of that class for the cycles Klear has
 * not settled yet in it. Klear lists only some subtraders; the others are checked together: the
 * class's user line minus its listed subtraders against the ledger's figures of every subtrader it
 * does not list. Figures are `variation margin - fees` (the same `pnl - fees` as a settled total).
 *
 * $1 estimate snapshot id, $2 ledger high-water mark, $3 the class's last settled cycle ('-infinity'
 * when none), $4 the projected cycle as in keys (the class's next_runtime; for an estimate without
 * one, the last settled cycle's key: it projects the cycle after it), $5 tolerance, $6 the cycle the
 * class's estimate projects ('infinity' without next_runtime): the ledger's open cycles up to it
 * count, $7 asset class.
 */
const PROJECTED_SQL = `
  WITH listed AS (
    SELECT l.key AS subtrader_id, l.variation_margin_centicents - l.total_fees_centicents AS v
      FROM klear_estimate_line l WHERE l.snapshot_id = $1 AND l.scope = 'subtrader' AND l.asset_class = $7),
  user_line AS (
    SELECT l.variation_margin_centicents - l.total_fees_centicents AS v
      FROM klear_estimate_line l WHERE l.snapshot_id = $1 AND l.scope = 'user' AND l.key = '' AND l.asset_class = $7),
  i AS (
    SELECT p.subtrader_id, sum(p.amount_centicents) AS v, jsonb_agg(DISTINCT e.external_id) AS ids
      FROM journal_posting p JOIN journal_entry e ON e.ledger_seq = p.entry_seq
     WHERE p.cycle > $3::timestamptz AND p.cycle <= $6::timestamptz AND p.asset_class = $7 AND p.account IN ('trading_pnl', 'trading_fees')
       AND p.entry_seq <= $2 AND p.subtrader_id IS NOT NULL
     GROUP BY p.subtrader_id),
  per_subtrader AS (
    SELECT ${breakKeySql(`'projected'`, '$4::text', `'subtrader'`, 'k.subtrader_id')} AS break_key, k.subtrader_id, k.v AS klear_value, i.v AS internal_value,
           jsonb_build_array($1::text || '/' || k.subtrader_id) AS klear_rows, coalesce(i.ids, '[]') AS internal_rows
      FROM listed k LEFT JOIN i ON i.subtrader_id = k.subtrader_id),
  omitted AS (
    SELECT ${breakKeySql(`'projected'`, '$4::text', `'omitted'`)} AS break_key, NULL::text AS subtrader_id,
           u.v - (SELECT coalesce(sum(v), 0) FROM listed) AS klear_value,
           (SELECT sum(i.v) FROM i WHERE NOT EXISTS (SELECT 1 FROM listed k WHERE k.subtrader_id = i.subtrader_id)) AS internal_value,
           jsonb_build_array($1::text || '/user') AS klear_rows,
           coalesce((SELECT jsonb_agg(x ORDER BY x) FROM i, jsonb_array_elements_text(i.ids) AS x
                      WHERE NOT EXISTS (SELECT 1 FROM listed k WHERE k.subtrader_id = i.subtrader_id)), '[]') AS internal_rows
      FROM user_line u),
  found AS (SELECT * FROM per_subtrader UNION ALL SELECT * FROM omitted)
  INSERT INTO recon_found ("check", break_key, subtrader_id, reference, reason_code, tolerated, rollup, klear_value, internal_value, difference, klear_rows, internal_rows)
  SELECT 'projected', f.break_key, f.subtrader_id, $1::text,
         CASE WHEN f.internal_value IS NULL AND f.subtrader_id IS NOT NULL THEN 'missing_internal' ELSE 'projected_mismatch' END,
         abs(coalesce(f.klear_value, 0) - coalesce(f.internal_value, 0)) <= $5::bigint, 'subtraders',
         f.klear_value, f.internal_value, coalesce(f.klear_value, 0) - coalesce(f.internal_value, 0), f.klear_rows, f.internal_rows
    FROM found f WHERE coalesce(f.klear_value, 0) <> coalesce(f.internal_value, 0)`;

/**
 * Explainability of a projection, per asset class: the differences found (breaks and tolerated) add
 * up to the class's user line minus everything the ledger books in that class for the projected
 * cycles. $1-$3 as above, $4 as $6 above, $5 asset class.
 */
const EXPLAINABILITY_SQL = `
  SELECT (SELECT l.variation_margin_centicents - l.total_fees_centicents FROM klear_estimate_line l
           WHERE l.snapshot_id = $1 AND l.scope = 'user' AND l.key = '' AND l.asset_class = $5)::text AS klear_total,
         (SELECT coalesce(sum(p.amount_centicents), 0) FROM journal_posting p
           WHERE p.cycle > $3::timestamptz AND p.cycle <= $4::timestamptz AND p.asset_class = $5 AND p.account IN ('trading_pnl', 'trading_fees') AND p.entry_seq <= $2
             AND p.subtrader_id IS NOT NULL)::text AS internal_total,
         (SELECT coalesce(sum(difference), 0) FROM recon_found WHERE "check" = 'projected')::text AS found`;

export const projectedCheck: ReconCheck<ProjectedContext> = {
  name: 'projected',
  tolerance: (settings) => settings.tolerances.projected,
  async prepare(q, c) {
    const after = c.lastSettled ?? new Date(-8.64e15);
    const until = c.nextRuntime ?? new Date(8.64e15);
    const [open] = (await q.query(
      `SELECT count(*)::text AS entries, coalesce(max(ledger_seq), 0)::text AS last_seq FROM journal_entry
        WHERE cycle > $1 AND cycle <= $3 AND asset_class = $4 AND ledger_seq <= $2`,
      [after, c.ledgerSeq, until, c.assetClass],
    )) as Array<Record<string, string>>;
    const tolerance = c.settings.tolerances.projected.toString();
    const params = [c.snapshotId, c.ledgerSeq, after];
    const keyCycle = c.nextRuntime ?? c.lastSettled;
    return {
      inputs: { open_cycle_ledger: open },
      async execute(tx) {
        await tx.query(PROJECTED_SQL, [...params, keyCycle ? cycleKeyText(keyCycle) : 'none', tolerance, until, c.assetClass]);
      },
      async finish(tx) {
        const [totals] = (await tx.query(EXPLAINABILITY_SQL, [...params, until, c.assetClass])) as Array<{
          klear_total: string | null;
          internal_total: string;
          found: string;
        }>;
        if (totals.klear_total !== null && BigInt(totals.klear_total) - BigInt(totals.internal_total) !== BigInt(totals.found)) {
          throw new ExplainabilityViolated([
            {
              subtrader_id: '(projected)',
              asset_class: c.assetClass,
              klear_total: totals.klear_total,
              internal_total: totals.internal_total,
              found: totals.found,
            },
          ]);
        }
        return { projected_totals: totals };
      },
    };
  },
};
