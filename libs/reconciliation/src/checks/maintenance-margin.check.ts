import { breakKeySql } from '../sql/keys';
import type { CycleContext, ReconCheck } from './check';
import { cycleLedgerInputs, ONE_SIDED } from './settlement-details.check';

/*
 * Maintenance margin of one cycle (docs/ledger-and-breaks.md): Klear's requirement per subtrader
 * against the ledger's maintenance_margin postings. $1 cycle, $2 ledger high-water mark, $3
 * obligation ids, $4 cycle as in keys, $5 tolerance. A side without a row counts as zero, so a
 * zero row against nothing is not a break; a Klear row with an empty subtrader id always is.
 */
const MARGIN_SQL = `
  WITH k AS (
    SELECT m.subtrader_id, sum(m.maintenance_margin_centicents) AS v, jsonb_agg(m.id ORDER BY m.id) AS ids
      FROM klear_margin_detail m WHERE m.obligation_id = ANY($3::text[]) AND m.subtrader_id <> '' GROUP BY m.subtrader_id),
  i AS (
    SELECT p.subtrader_id, sum(p.amount_centicents) AS v
      FROM journal_posting p
     WHERE p.cycle = $1 AND p.account = 'maintenance_margin' AND p.entry_seq <= $2 AND p.subtrader_id IS NOT NULL
     GROUP BY p.subtrader_id)
  INSERT INTO recon_found ("check", break_key, subtrader_id, reason_code, tolerated, rollup, klear_value, internal_value, difference, klear_rows)
  SELECT 'maintenance_margin', ${breakKeySql(`'maintenance_margin'`, '$4::text', 'coalesce(k.subtrader_id, i.subtrader_id)')},
         coalesce(k.subtrader_id, i.subtrader_id), 'pending', abs(coalesce(k.v, 0) - coalesce(i.v, 0)) <= $5::bigint, 'subtraders',
         k.v, i.v, coalesce(k.v, 0) - coalesce(i.v, 0), coalesce(k.ids, '[]')
    FROM k FULL OUTER JOIN i ON i.subtrader_id = k.subtrader_id
   WHERE coalesce(k.v, 0) <> coalesce(i.v, 0)
  UNION ALL
  SELECT 'maintenance_margin', ${breakKeySql(`'maintenance_margin'`, '$4::text', `'(empty)'`, 'm.id')}, NULL, 'missing_subtrader_id', false, NULL,
         m.maintenance_margin_centicents, NULL, m.maintenance_margin_centicents, jsonb_build_array(m.id)
    FROM klear_margin_detail m WHERE m.obligation_id = ANY($3::text[]) AND m.subtrader_id = ''`;

const REASONS_SQL = `
  UPDATE recon_found f SET
    reason_code = CASE
      WHEN ${ONE_SIDED} THEN 'unknown_subtrader'
      WHEN f.internal_value IS NULL THEN 'missing_internal'
      WHEN f.klear_value IS NULL THEN 'missing_klear'
      ELSE 'amount_mismatch' END,
    internal_rows = coalesce((SELECT jsonb_agg(DISTINCT e.external_id ORDER BY e.external_id)
                                FROM journal_posting p JOIN journal_entry e ON e.ledger_seq = p.entry_seq
                               WHERE p.cycle = $1 AND p.subtrader_id = f.subtrader_id AND p.account = 'maintenance_margin'
                                 AND p.entry_seq <= $2), '[]')
   WHERE f."check" = 'maintenance_margin' AND f.reason_code = 'pending' AND NOT f.tolerated`;

export const maintenanceMarginCheck: ReconCheck<CycleContext> = {
  name: 'maintenance_margin',
  tolerance: (settings) => settings.tolerances.maintenanceMargin,
  async prepare(q, c) {
    const base = [c.cycle, c.ledgerSeq, c.obligationIds];
    const tolerance = c.settings.tolerances.maintenanceMargin.toString();
    return {
      inputs: { cycle_ledger: await cycleLedgerInputs(q, c) },
      execute: async (tx) => void (await tx.query(MARGIN_SQL, [...base, c.keyText, tolerance])),
      finish: async (tx) => void (await tx.query(REASONS_SQL, base)),
    };
  },
};
