import { ExplainabilityViolated } from '../reconciliation-errors';
import { breakKeySql } from '../sql/keys';
import type { CycleContext, ReconCheck } from './check';
import { accountReasonsSql, cycleLedgerInputs } from './settlement-details.check';

/*
 * Funding of one cycle (docs/ledger-and-breaks.md, "funding"): Klear's funding payments of the
 * cycle's obligations per (subtrader, market), summed over the funding times, against the ledger's
 * `funding` postings of the cycle and asset class up to the high-water mark. $1 cycle, $2 ledger
 * high-water mark, $3 the class's obligation ids, $4 asset class, $5 cycle as in keys, $6 tolerance. A side without a row counts as zero.
 */
const FUNDING_SQL = `
  WITH k AS (
    SELECT f.subtrader_id, f.market_ticker, sum(f.funding_amount_centicents) AS v, jsonb_agg(f.id ORDER BY f.id) AS ids
      FROM klear_funding_payment f WHERE f.obligation_id = ANY($3::text[]) GROUP BY f.subtrader_id, f.market_ticker),
  i AS (
    SELECT p.subtrader_id AS subtrader_id, p.market_ticker, sum(p.amount_centicents) AS v
      FROM journal_posting p
     WHERE p.cycle = $1 AND p.asset_class = $4 AND p.account = 'funding' AND p.entry_seq <= $2 AND p.subtrader_id IS NOT NULL
     GROUP BY p.subtrader_id, p.market_ticker)
  INSERT INTO recon_found ("check", break_key, subtrader_id, market_ticker, reason_code, tolerated, rollup, klear_value, internal_value, difference, klear_rows)
  SELECT 'funding', ${breakKeySql(`'funding'`, '$5::text', 'coalesce(k.subtrader_id, i.subtrader_id)', 'coalesce(k.market_ticker, i.market_ticker)')},
         coalesce(k.subtrader_id, i.subtrader_id), coalesce(k.market_ticker, i.market_ticker), 'pending',
         abs(coalesce(k.v, 0) - coalesce(i.v, 0)) <= $6::bigint, 'markets',
         k.v, i.v, coalesce(k.v, 0) - coalesce(i.v, 0), coalesce(k.ids, '[]')
    FROM k FULL OUTER JOIN i ON i.subtrader_id = k.subtrader_id AND i.market_ticker = k.market_ticker
   WHERE coalesce(k.v, 0) <> coalesce(i.v, 0)`;

const REASONS_SQL = accountReasonsSql('funding', 'funding', true);

/**
 * Explainability of funding: per subtrader, Klear's funding total minus the ledger's (each summed
 * on its own, not through the market join) equals the sum of its funding findings, breaks and
 * tolerated, to the centicent. Answers the violations, then the cycle totals (subtrader NULL).
 */
const EXPLAINABILITY_SQL = `
  WITH k AS (SELECT f.subtrader_id, sum(f.funding_amount_centicents) AS v FROM klear_funding_payment f
              WHERE f.obligation_id = ANY($3::text[]) GROUP BY f.subtrader_id),
  i AS (SELECT p.subtrader_id AS subtrader_id, sum(p.amount_centicents) AS v FROM journal_posting p
         WHERE p.cycle = $1 AND p.asset_class = $4 AND p.account = 'funding' AND p.entry_seq <= $2 AND p.subtrader_id IS NOT NULL GROUP BY p.subtrader_id),
  found AS (SELECT f.subtrader_id, sum(f.difference) AS v FROM recon_found f WHERE f."check" = 'funding' GROUP BY f.subtrader_id),
  totals AS MATERIALIZED (
    SELECT coalesce(k.subtrader_id, i.subtrader_id) AS subtrader_id, coalesce(k.v, 0) AS klear_total, coalesce(i.v, 0) AS internal_total
      FROM k FULL OUTER JOIN i ON i.subtrader_id = k.subtrader_id)
  SELECT coalesce(t.subtrader_id, found.subtrader_id) AS subtrader_id, coalesce(t.klear_total, 0)::text AS klear_total,
         coalesce(t.internal_total, 0)::text AS internal_total, coalesce(found.v, 0)::text AS found
    FROM totals t FULL OUTER JOIN found ON found.subtrader_id = t.subtrader_id
   WHERE coalesce(t.klear_total, 0) - coalesce(t.internal_total, 0) <> coalesce(found.v, 0)
  UNION ALL
  SELECT NULL, coalesce(sum(klear_total), 0)::text, coalesce(sum(internal_total), 0)::text,
         (SELECT coalesce(sum(difference), 0) FROM recon_found WHERE "check" = 'funding')::text
    FROM totals`;

export const fundingCheck: ReconCheck<CycleContext> = {
  name: 'funding',
  tolerance: (settings) => settings.tolerances.funding,
  async prepare(q, c) {
    const base = [c.cycle, c.ledgerSeq, c.obligationIds, c.assetClass];
    return {
      inputs: { cycle_ledger: await cycleLedgerInputs(q, c) },
      execute: async (tx) => void (await tx.query(FUNDING_SQL, [...base, c.keyText, c.settings.tolerances.funding.toString()])),
      async finish(tx) {
        await tx.query(REASONS_SQL, base);
        const rows = (await tx.query(EXPLAINABILITY_SQL, base)) as Array<Record<string, string | null>>;
        const violations = rows.filter((r) => r.subtrader_id !== null) as Array<Record<string, string>>;
        if (violations.length > 0) throw new ExplainabilityViolated(violations.map((v) => ({ check: 'funding', ...v })));
        const cycleTotals = rows.find((r) => r.subtrader_id === null)!;
        return { funding_totals: { klear_total: cycleTotals.klear_total ?? '0', internal_total: cycleTotals.internal_total ?? '0', difference: cycleTotals.found ?? '0' } };
      },
    };
  },
};
