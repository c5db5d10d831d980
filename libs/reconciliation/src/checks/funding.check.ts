import { ExplainabilityViolated } from '../reconciliation-errors';
import { CREATE_FUNDING_SUBTRADER_TABLE_SQL } from '../sql/found-table.sql';
import { breakKeySql } from '../sql/keys';
import type { CycleContext, ReconCheck } from './check';
import { accountReasonsSql, cycleLedgerInputs } from './settlement-details.check';

/*
 * Funding of one cycle (docs/ledger-and-breaks.md, "funding"): Klear's funding payments of the
 * cycle's obligations per (subtrader, market), summed over the funding times, against the ledger's
 * `funding` postings of the cycle and asset class up to the high-water mark. $1 cycle, $2 ledger
 * high-water mark, $3 the class's obligation ids, $4 asset class, then as stated. A side without a
 * row counts as zero.
 */

/**
 * Per subtrader, from the summaries the source tables' triggers maintain (klear_funding_summary,
 * ledger_funding_summary; migration FundingSummaries), as the settlement-details check does: both
 * totals, and whether the subtrader's markets must be examined: when it is on one side only, when
 * its sums differ, or when either keyed fingerprint of its per-market figures differs. The ledger
 * summary holds every posting this transaction's snapshot sees: exactly those up to $2.
 */
const SUBTRADERS_SQL = `
  WITH k AS (
    SELECT s.subtrader_id, sum(s.funding_centicents) AS v,
           recon_fingerprint_1_mod(sum(s.fingerprint_1)) AS fp1, recon_fingerprint_2_mod(sum(s.fingerprint_2)) AS fp2
      FROM klear_funding_summary s WHERE s.obligation_id = ANY($3::text[]) GROUP BY s.subtrader_id),
  i AS (
    SELECT l.subtrader_id, l.funding_centicents AS v, l.fingerprint_1 AS fp1, l.fingerprint_2 AS fp2
      FROM ledger_funding_summary l WHERE l.cycle = $1 AND l.asset_class = $4 AND $2::bigint IS NOT NULL)
  INSERT INTO recon_funding_subtrader (subtrader_id, klear_total, internal_total, examined)
  SELECT coalesce(k.subtrader_id, i.subtrader_id), coalesce(k.v, 0), coalesce(i.v, 0),
         k.subtrader_id IS NULL OR i.subtrader_id IS NULL OR k.v <> i.v OR k.fp1 <> i.fp1 OR k.fp2 <> i.fp2
    FROM k FULL OUTER JOIN i ON i.subtrader_id = k.subtrader_id`;

/**
 * Per (subtrader, market) of the examined subtraders only: Klear's payments FULL OUTER JOIN the
 * ledger's sums, exactly; only rows that differ are kept. $5 cycle as in keys, $6 tolerance.
 */
const FUNDING_SQL = `
  WITH k AS (
    SELECT f.subtrader_id, f.market_ticker, sum(f.funding_amount_centicents) AS v, jsonb_agg(f.id ORDER BY f.id) AS ids
      FROM recon_funding_subtrader t JOIN klear_funding_payment f ON f.subtrader_id = t.subtrader_id
     WHERE t.examined AND f.obligation_id = ANY($3::text[]) GROUP BY f.subtrader_id, f.market_ticker),
  i AS (
    SELECT p.subtrader_id AS subtrader_id, coalesce(p.market_ticker, '') AS market_ticker, sum(p.amount_centicents) AS v
      FROM recon_funding_subtrader t JOIN journal_posting p ON p.subtrader_id = t.subtrader_id
     WHERE t.examined AND p.cycle_key = $1 AND p.cycle = $1 AND p.asset_class = $4 AND p.account = 'funding' AND p.entry_seq <= $2
     GROUP BY p.subtrader_id, coalesce(p.market_ticker, ''))
  INSERT INTO recon_found ("check", break_key, subtrader_id, market_ticker, reason_code, tolerated, rollup, klear_value, internal_value, difference, klear_rows)
  SELECT 'funding', ${breakKeySql(`'funding'`, '$5::text', 'coalesce(k.subtrader_id, i.subtrader_id)', 'coalesce(k.market_ticker, i.market_ticker)')},
         coalesce(k.subtrader_id, i.subtrader_id), coalesce(k.market_ticker, i.market_ticker), 'pending',
         abs(coalesce(k.v, 0) - coalesce(i.v, 0)) <= $6::bigint, 'markets',
         k.v, i.v, coalesce(k.v, 0) - coalesce(i.v, 0), coalesce(k.ids, '[]')
    FROM k FULL OUTER JOIN i ON i.subtrader_id = k.subtrader_id AND i.market_ticker = k.market_ticker
   WHERE coalesce(k.v, 0) <> coalesce(i.v, 0)`;

const REASONS_SQL = accountReasonsSql('funding', 'funding', true);

/**
 * Explainability of funding: per subtrader, Klear's funding total minus the ledger's (from the
 * summaries, not through the market join) equals the sum of its funding findings, breaks and
 * tolerated, to the centicent. Answers the violations, then the cycle totals (subtrader NULL).
 */
const EXPLAINABILITY_SQL = `
  WITH found AS (SELECT f.subtrader_id, sum(f.difference) AS v FROM recon_found f WHERE f."check" = 'funding' GROUP BY f.subtrader_id)
  SELECT coalesce(t.subtrader_id, found.subtrader_id) AS subtrader_id, coalesce(t.klear_total, 0)::text AS klear_total,
         coalesce(t.internal_total, 0)::text AS internal_total, coalesce(found.v, 0)::text AS found
    FROM recon_funding_subtrader t FULL OUTER JOIN found ON found.subtrader_id = t.subtrader_id
   WHERE coalesce(t.klear_total, 0) - coalesce(t.internal_total, 0) <> coalesce(found.v, 0)
  UNION ALL
  SELECT NULL, coalesce(sum(klear_total), 0)::text, coalesce(sum(internal_total), 0)::text,
         (SELECT coalesce(sum(difference), 0) FROM recon_found WHERE "check" = 'funding')::text
    FROM recon_funding_subtrader`;

export const fundingCheck: ReconCheck<CycleContext> = {
  name: 'funding',
  tolerance: (settings) => settings.tolerances.funding,
  async prepare(q, c) {
    const base = [c.cycle, c.ledgerSeq, c.obligationIds, c.assetClass];
    return {
      inputs: { cycle_ledger: await cycleLedgerInputs(q, c) },
      async execute(tx) {
        await tx.query(CREATE_FUNDING_SUBTRADER_TABLE_SQL);
        await tx.query(SUBTRADERS_SQL, base);
        // Temporary tables are never auto-analysed: the planner needs to know how many to examine.
        await tx.query('ANALYZE recon_funding_subtrader');
        await tx.query(FUNDING_SQL, [...base, c.keyText, c.settings.tolerances.funding.toString()]);
      },
      async finish(tx) {
        await tx.query(REASONS_SQL, base);
        const rows = (await tx.query(EXPLAINABILITY_SQL)) as Array<Record<string, string | null>>;
        const violations = rows.filter((r) => r.subtrader_id !== null) as Array<Record<string, string>>;
        if (violations.length > 0) throw new ExplainabilityViolated(violations.map((v) => ({ check: 'funding', ...v })));
        const cycleTotals = rows.find((r) => r.subtrader_id === null)!;
        return {
          funding_totals: {
            klear_total: cycleTotals.klear_total ?? '0',
            internal_total: cycleTotals.internal_total ?? '0',
            difference: cycleTotals.found ?? '0',
          },
        };
      },
    };
  },
};
