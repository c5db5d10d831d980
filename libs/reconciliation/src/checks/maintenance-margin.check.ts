import { withCycleScans } from '@app/db';
import { breakKeySql } from '../sql/keys';
import type { CycleContext, ReconCheck } from './check';
import { accountReasonsSql, cycleLedgerInputs } from './settlement-details.check';

/*
 * Maintenance margin of one cycle (docs/ledger-and-breaks.md): Klear's requirement per subtrader
 * against the ledger's maintenance_margin postings, and for a netted subtrader group (Klear's rows
 * with margin_group_id) the group's requirement against the sum the ledger holds for its members at
 * that cycle's membership, within one asset class. $1 cycle, $2 ledger high-water mark, $3 the class's
 * obligation ids, $4 asset class, $5 cycle as in keys, $6 tolerance. A side without a row counts as zero, so a zero row against nothing is not a
 * break; a Klear row with neither a subtrader id nor a group always is.
 */

/**
 * The members of each group the cycle's obligations list, at the cycle: the membership valid at
 * the execution time, or, for a group first pulled after it, the membership first pulled (nothing
 * earlier is known). A subtrader counts in one group at most. $1 cycle, $2 obligation ids.
 */
const CREATE_MEMBERS_SQL = `
  CREATE TEMPORARY TABLE recon_margin_member AS
  WITH kg AS (SELECT DISTINCT m.margin_group_id AS group_id FROM klear_margin_detail m
               WHERE m.cycle = $1 AND m.obligation_id = ANY($2::text[]) AND m.margin_group_id IS NOT NULL),
  at_cycle AS (
    SELECT g.group_id, s.subtrader_id FROM kg g JOIN klear_subtrader_group_membership s ON s.group_id = g.group_id
     WHERE s.valid_from <= $1::timestamptz AND (s.valid_to IS NULL OR s.valid_to > $1::timestamptz)),
  first_seen AS (
    SELECT g.group_id, s.subtrader_id FROM kg g JOIN klear_subtrader_group_membership s ON s.group_id = g.group_id
     WHERE NOT EXISTS (SELECT 1 FROM at_cycle a WHERE a.group_id = g.group_id)
       AND s.valid_from = (SELECT min(x.valid_from) FROM klear_subtrader_group_membership x WHERE x.group_id = g.group_id))
  SELECT DISTINCT ON (subtrader_id) group_id, subtrader_id FROM (SELECT * FROM at_cycle UNION ALL SELECT * FROM first_seen) u
   ORDER BY subtrader_id, group_id`;

const MARGIN_SQL = `
  WITH k AS (
    SELECT m.subtrader_id, sum(m.maintenance_margin_centicents) AS v, jsonb_agg(m.id ORDER BY m.id) AS ids
      FROM klear_margin_detail m
     WHERE m.cycle = $1 AND m.obligation_id = ANY($3::text[]) AND m.subtrader_id <> '' AND m.margin_group_id IS NULL
       AND NOT EXISTS (SELECT 1 FROM recon_margin_member g WHERE g.subtrader_id = m.subtrader_id)
     GROUP BY m.subtrader_id),
  i AS (
    SELECT p.subtrader_id, sum(p.amount_centicents) AS v
      FROM journal_posting p
     WHERE p.cycle_key = $1 AND p.cycle = $1 AND p.asset_class = $4 AND p.account = 'maintenance_margin' AND p.entry_seq <= $2 AND p.subtrader_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM recon_margin_member g WHERE g.subtrader_id = p.subtrader_id)
     GROUP BY p.subtrader_id)
  INSERT INTO recon_found ("check", break_key, subtrader_id, reason_code, tolerated, rollup, klear_value, internal_value, difference, klear_rows)
  SELECT 'maintenance_margin', ${breakKeySql(`'maintenance_margin'`, '$5::text', 'coalesce(k.subtrader_id, i.subtrader_id)')},
         coalesce(k.subtrader_id, i.subtrader_id), 'pending', abs(coalesce(k.v, 0) - coalesce(i.v, 0)) <= $6::bigint, 'subtraders',
         k.v, i.v, coalesce(k.v, 0) - coalesce(i.v, 0), coalesce(k.ids, '[]')
    FROM k FULL OUTER JOIN i ON i.subtrader_id = k.subtrader_id
   WHERE coalesce(k.v, 0) <> coalesce(i.v, 0)
  UNION ALL
  SELECT 'maintenance_margin', ${breakKeySql(`'maintenance_margin'`, '$5::text', `'(empty)'`, 'm.id')}, NULL, 'missing_subtrader_id', false, NULL,
         m.maintenance_margin_centicents, NULL, m.maintenance_margin_centicents, jsonb_build_array(m.id)
    FROM klear_margin_detail m WHERE m.cycle = $1 AND m.obligation_id = ANY($3::text[]) AND m.subtrader_id = '' AND m.margin_group_id IS NULL`;

/**
 * Per group: Klear's group rows (and any row of a member) against the members' postings. A group
 * without any known membership cannot be compared: `unknown_group`, never tolerated.
 */
const GROUP_MARGIN_SQL = `
  WITH k AS (
    SELECT coalesce(m.margin_group_id, g.group_id) AS group_id, sum(m.maintenance_margin_centicents) AS v, jsonb_agg(m.id ORDER BY m.id) AS ids
      FROM klear_margin_detail m LEFT JOIN recon_margin_member g ON g.subtrader_id = m.subtrader_id AND m.subtrader_id <> ''
     WHERE m.cycle = $1 AND m.obligation_id = ANY($3::text[]) AND (m.margin_group_id IS NOT NULL OR g.group_id IS NOT NULL)
     GROUP BY coalesce(m.margin_group_id, g.group_id)),
  i AS (
    SELECT g.group_id, sum(p.amount_centicents) AS v
      FROM recon_margin_member g JOIN journal_posting p ON p.subtrader_id = g.subtrader_id
     WHERE p.cycle_key = $1 AND p.cycle = $1 AND p.asset_class = $4 AND p.account = 'maintenance_margin' AND p.entry_seq <= $2
     GROUP BY g.group_id)
  INSERT INTO recon_found ("check", break_key, reference, reason_code, tolerated, rollup, klear_value, internal_value, difference, klear_rows)
  SELECT 'maintenance_margin', ${breakKeySql(`'maintenance_margin'`, '$5::text', `'group'`, 'k.group_id')}, k.group_id,
         CASE WHEN NOT EXISTS (SELECT 1 FROM recon_margin_member g WHERE g.group_id = k.group_id) THEN 'unknown_group'
              WHEN i.v IS NULL THEN 'missing_internal' ELSE 'amount_mismatch' END,
         abs(k.v - coalesce(i.v, 0)) <= $6::bigint AND EXISTS (SELECT 1 FROM recon_margin_member g WHERE g.group_id = k.group_id), 'groups',
         k.v, i.v, k.v - coalesce(i.v, 0), k.ids
    FROM k LEFT JOIN i ON i.group_id = k.group_id
   WHERE k.v <> coalesce(i.v, 0) OR NOT EXISTS (SELECT 1 FROM recon_margin_member g WHERE g.group_id = k.group_id)`;

const REASONS_SQL = accountReasonsSql('maintenance_margin', 'maintenance_margin', false);

const GROUP_ROWS_SQL = `
  UPDATE recon_found f SET
    internal_rows = coalesce((SELECT jsonb_agg(DISTINCT e.external_id ORDER BY e.external_id)
                                FROM recon_margin_member g JOIN journal_posting p ON p.subtrader_id = g.subtrader_id
                                JOIN journal_entry e ON e.ledger_seq = p.entry_seq
                               WHERE g.group_id = f.reference AND p.cycle_key = $1 AND p.cycle = $1 AND p.asset_class = $3 AND p.account = 'maintenance_margin' AND p.entry_seq <= $2), '[]')
   WHERE f."check" = 'maintenance_margin' AND f.rollup = 'groups' AND NOT f.tolerated`;

/** Group memberships the check read: part of the run's inputs (a membership change reruns the cycle). */
const MEMBERSHIP_INPUTS_SQL = `
  SELECT count(*)::text AS rows, coalesce(max(id), 0)::text AS last_id, count(valid_to)::text AS ended FROM klear_subtrader_group_membership`;

export const maintenanceMarginCheck: ReconCheck<CycleContext> = {
  name: 'maintenance_margin',
  tolerance: (settings) => settings.tolerances.maintenanceMargin,
  async prepare(q, c) {
    const base = [c.cycle, c.ledgerSeq, c.obligationIds, c.assetClass];
    const tolerance = c.settings.tolerances.maintenanceMargin.toString();
    const [memberships] = (await q.query(MEMBERSHIP_INPUTS_SQL)) as Array<Record<string, string>>;
    return {
      inputs: { cycle_ledger: await cycleLedgerInputs(q, c), group_memberships: memberships },
      async execute(tx) {
        await tx.query('DROP TABLE IF EXISTS recon_margin_member');
        // The cycle's margin rows by bitmap scans, never its whole month (withCycleScans).
        await withCycleScans(tx, async () => {
          await tx.query(CREATE_MEMBERS_SQL, [c.cycle, c.obligationIds]);
          await tx.query(MARGIN_SQL, [...base, c.keyText, tolerance]);
          await tx.query(GROUP_MARGIN_SQL, [...base, c.keyText, tolerance]);
        });
      },
      async finish(tx) {
        await tx.query(REASONS_SQL, base);
        await tx.query(GROUP_ROWS_SQL, [c.cycle, c.ledgerSeq, c.assetClass]);
      },
    };
  },
};
