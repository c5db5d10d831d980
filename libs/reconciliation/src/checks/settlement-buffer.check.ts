import { breakKeySql } from '../sql/keys';
import { type BufferLeftover, matchLeftoversByAmount } from './buffer-matching';
import type { CheckSql, CycleContext, ReconCheck } from './check';

/*
 * Settlement buffer (docs/ledger-and-breaks.md, "Settlement buffer"). Klear's balance history
 * against the ledger's settlement_buffer postings, per buffer period: the ET days from the end of
 * the previous settlement day (a day with an ingested cycle) to the end of this cycle's day. The
 * period belongs to the first cycle of its ET day, and within that cycle to the run of its first
 * asset class (the buffer is one account for every class); the other runs of that day have no
 * buffer check, so that each movement belongs to exactly one scope.
 */

/** The buffer period of a cycle, the cycle that owns it and the asset class whose run does. $1 cycle. */
const SCOPE_SQL = `
  WITH days AS (SELECT DISTINCT execution_time AS t, (execution_time AT TIME ZONE 'America/New_York')::date AS d FROM klear_obligation),
  me AS (SELECT ($1::timestamptz AT TIME ZONE 'America/New_York')::date AS d)
  SELECT (SELECT min(days.t) FROM days WHERE days.d = me.d) AS owner_cycle,
         (SELECT min(o.asset_class COLLATE "C") FROM klear_obligation o
           WHERE o.execution_time = (SELECT min(days.t) FROM days WHERE days.d = me.d)) AS owner_asset_class,
         (SELECT ((max(days.d) + 1)::timestamp AT TIME ZONE 'America/New_York') FROM days WHERE days.d < me.d) AS period_start,
         ((me.d + 1)::timestamp AT TIME ZONE 'America/New_York') AS period_end
    FROM me`;

/**
 * Every buffer movement of both sides up to the high-water marks ($1 ledger, $2 balance history),
 * and its group: Klear's movements by business_transaction_id, the ledger's by business reference
 * (a reversal by the reference of the entry it reverses), an entry without a reference (and its
 * reversal) by its own external_id. A group's time is its first movement's, on either side.
 */
const BUFFER_GROUPS_CTE = `
  buffer_rows AS (
    SELECT 'klear'::text AS side, h.business_transaction_id AS ref, NULL::text AS root, h.id AS row_id, h.created_ts AS at,
           h.balance_delta_centicents::numeric AS amount, to_jsonb(h.id) AS source
      FROM klear_balance_history h WHERE h.id <= $2::bigint
    UNION ALL
    SELECT 'ledger', CASE WHEN e.reverses_external_id IS NULL THEN e.business_reference ELSE r.business_reference END,
           coalesce(r.external_id, e.external_id), e.ledger_seq, e.effective_at, sum(p.amount_centicents), to_jsonb(e.external_id)
      FROM journal_posting p
      JOIN journal_entry e ON e.ledger_seq = p.entry_seq
      LEFT JOIN journal_entry r ON r.external_id = e.reverses_external_id
     WHERE p.account = 'settlement_buffer' AND p.entry_seq <= $1::bigint
     GROUP BY e.ledger_seq, r.external_id, r.business_reference),
  buffer_groups AS (
    SELECT r.ref IS NULL AS internal_only, coalesce(r.ref, r.root) AS ident, min(r.at) AS at,
           sum(r.amount) FILTER (WHERE r.side = 'klear') AS k_amount, sum(r.amount) FILTER (WHERE r.side = 'ledger') AS i_amount,
           coalesce(jsonb_agg(r.source ORDER BY r.row_id) FILTER (WHERE r.side = 'klear'), '[]') AS k_rows,
           coalesce(jsonb_agg(r.source ORDER BY r.row_id) FILTER (WHERE r.side = 'ledger'), '[]') AS i_rows
      FROM buffer_rows r GROUP BY 1, 2)`;

/**
 * What the check reads, for the inputs fingerprint: the movements of every group that starts before
 * the horizon $3 (the period's end plus the matching window), counted per side with the highest id,
 * and the withdrawal state changes before the period's end ($4 high-water mark, $5 period end).
 * Movements are never updated or deleted, so a count changes whenever one is added.
 */
const INPUTS_SQL = `
  WITH ${BUFFER_GROUPS_CTE}
  SELECT (SELECT jsonb_object_agg(x.side, jsonb_build_object('movements', x.n, 'last_id', x.last))
            FROM (SELECT r.side, count(*)::text AS n, max(r.row_id)::text AS last
                    FROM buffer_rows r JOIN buffer_groups g ON g.internal_only = (r.ref IS NULL) AND g.ident = coalesce(r.ref, r.root)
                   WHERE g.at < $3 GROUP BY r.side) x) AS movements,
         (SELECT jsonb_build_object('changes', count(*)::text, 'last_id', coalesce(max(c.id), 0)::text)
            FROM withdrawal_state_change c WHERE c.id <= $4 AND c.at < $5) AS withdrawal_state_changes`;

/** The groups starting before the horizon $3, and whether this period ($4 start or NULL, $5 end) owns them. */
const CREATE_GROUP_TABLES_SQL = [
  `CREATE TEMPORARY TABLE recon_buffer_group (internal_only boolean, ident text, at timestamptz, k_amount numeric, i_amount numeric,
                                              k_rows jsonb, i_rows jsonb, owned boolean)`,
  `CREATE TEMPORARY TABLE recon_buffer_matched (internal_only boolean, ident text)`,
];

const GROUPS_SQL = `
  INSERT INTO recon_buffer_group (internal_only, ident, at, k_amount, i_amount, k_rows, i_rows, owned)
  WITH ${BUFFER_GROUPS_CTE}
  SELECT g.internal_only, g.ident, g.at, g.k_amount, g.i_amount, g.k_rows, g.i_rows,
         (g.at >= coalesce($4::timestamptz, '-infinity') AND g.at < $5::timestamptz)
    FROM buffer_groups g WHERE g.at < $3::timestamptz`;

/** Groups with movements on one side only and a non-zero net, in the sweep's order. */
const LEFTOVERS_SQL = `
  SELECT CASE WHEN g.k_amount IS NULL THEN 'ledger' ELSE 'klear' END AS side, g.internal_only, g.ident,
         (extract(epoch FROM g.at) * 1000)::float8 AS at_ms, coalesce(g.k_amount, g.i_amount)::text AS amount, g.owned
    FROM recon_buffer_group g
   WHERE (g.k_amount IS NULL) <> (g.i_amount IS NULL) AND coalesce(g.k_amount, g.i_amount) <> 0
   ORDER BY g.at, 1, g.internal_only, g.ident COLLATE "C"`;

const MATCHED_SQL = `INSERT INTO recon_buffer_matched SELECT * FROM unnest($1::boolean[], $2::text[])`;

/**
 * The period's groups that are breaks: matched by reference with another net amount, or on one
 * side only with a non-zero net and not matched by amount. $1 tolerance.
 */
const MOVEMENTS_SQL = `
  INSERT INTO recon_found ("check", break_key, reference, reason_code, tolerated, rollup, klear_value, internal_value, difference, klear_rows, internal_rows)
  SELECT 'settlement_buffer',
         CASE WHEN g.internal_only THEN ${breakKeySql(`'settlement_buffer'`, `'internal'`, 'g.ident')} ELSE ${breakKeySql(`'settlement_buffer'`, 'g.ident')} END,
         g.ident,
         CASE WHEN g.k_amount IS NULL THEN 'missing_klear' WHEN g.i_amount IS NULL THEN 'missing_internal' ELSE 'amount_mismatch' END,
         abs(coalesce(g.k_amount, 0) - coalesce(g.i_amount, 0)) <= $1::bigint, 'movements',
         g.k_amount, g.i_amount, coalesce(g.k_amount, 0) - coalesce(g.i_amount, 0), g.k_rows, g.i_rows
    FROM recon_buffer_group g
   WHERE g.owned AND coalesce(g.k_amount, 0) <> coalesce(g.i_amount, 0)
     AND NOT EXISTS (SELECT 1 FROM recon_buffer_matched m WHERE m.internal_only = g.internal_only AND m.ident = g.ident)`;

/**
 * The running balance at the period's end (every movement before it, both sides), and Klear's
 * locked balance then against the withdrawals this product had in flight at that instant.
 * $1 ledger, $2 balance-history, $3 withdrawal-state-change high-water marks, $4 period end,
 * $5 cycle as in keys, $6 tolerance.
 */
const BALANCES_SQL = `
  WITH klear AS (
    SELECT coalesce(sum(h.balance_delta_centicents), 0) AS balance, coalesce(sum(h.locked_balance_delta_centicents), 0) AS locked
      FROM klear_balance_history h WHERE h.id <= $2 AND h.created_ts < $4),
  ledger AS (
    SELECT coalesce(sum(p.amount_centicents), 0) AS balance
      FROM journal_posting p JOIN journal_entry e ON e.ledger_seq = p.entry_seq
     WHERE p.account = 'settlement_buffer' AND p.entry_seq <= $1 AND e.effective_at < $4),
  in_flight AS (
    SELECT coalesce(sum(w.amount_centicents), 0) AS locked, coalesce(jsonb_agg(w.id ORDER BY w.id), '[]') AS ids
      FROM withdrawal_request w
     WHERE (SELECT c.to_state FROM withdrawal_state_change c
             WHERE c.request_id = w.id AND c.id <= $3 AND c.at < $4 ORDER BY c.id DESC LIMIT 1)
           IN ('submitted', 'processing', 'outcome_unknown'))
  INSERT INTO recon_found ("check", break_key, reference, reason_code, tolerated, klear_value, internal_value, difference, internal_rows)
  SELECT 'settlement_buffer', ${breakKeySql(`'settlement_buffer'`, '$5::text', `'running_balance'`)}, 'running_balance', 'balance_mismatch',
         abs(klear.balance - ledger.balance) <= $6::bigint, klear.balance, ledger.balance, klear.balance - ledger.balance, '[]'
    FROM klear, ledger WHERE klear.balance <> ledger.balance
  UNION ALL
  SELECT 'settlement_buffer', ${breakKeySql(`'settlement_buffer'`, '$5::text', `'locked'`)}, 'locked', 'locked_mismatch',
         abs(klear.locked - in_flight.locked) <= $6::bigint, klear.locked, in_flight.locked, klear.locked - in_flight.locked, in_flight.ids
    FROM klear, in_flight WHERE klear.locked <> in_flight.locked`;

const iso = (d: Date | null) => d?.toISOString() ?? null;

export const settlementBufferCheck: ReconCheck<CycleContext> = {
  name: 'settlement_buffer',
  tolerance: (settings) => settings.tolerances.settlementBuffer,
  async prepare(q, c) {
    const [scope] = (await q.query(SCOPE_SQL, [c.cycle])) as Array<{
      owner_cycle: Date;
      owner_asset_class: string;
      period_start: Date | null;
      period_end: Date;
    }>;
    if (scope.owner_cycle.getTime() !== c.cycle.getTime() || scope.owner_asset_class !== c.assetClass) {
      // Another cycle of the same ET day came first, or another asset class of this cycle: the day's movements are reconciled in its scope.
      const owner = { owner: iso(scope.owner_cycle), owner_asset_class: scope.owner_asset_class };
      return { inputs: { period_owner: owner }, execute: async () => ({ settlement_buffer_period: owner }) };
    }
    const windowMs = c.settings.bufferMatchWindowHours * 3_600_000;
    const horizon = new Date(scope.period_end.getTime() + windowMs);
    const tolerance = c.settings.tolerances.settlementBuffer.toString();
    const [read] = (await q.query(INPUTS_SQL, [
      c.ledgerSeq,
      c.balanceHistoryId,
      horizon,
      c.withdrawalStateChangeId,
      scope.period_end,
    ])) as Array<Record<string, unknown>>;
    const period = { start: iso(scope.period_start), end: iso(scope.period_end), horizon: iso(horizon) };
    return {
      inputs: { period, ...read },
      async execute(tx: CheckSql) {
        for (const statement of CREATE_GROUP_TABLES_SQL) await tx.query(statement);
        await tx.query(GROUPS_SQL, [c.ledgerSeq, c.balanceHistoryId, horizon, scope.period_start, scope.period_end]);
        const rows = (await tx.query(LEFTOVERS_SQL)) as Array<{
          side: 'klear' | 'ledger';
          internal_only: boolean;
          ident: string;
          at_ms: number;
          amount: string;
          owned: boolean;
        }>;
        const owned = new Set(rows.filter((r) => r.owned).map((r) => `${r.internal_only}|${r.ident}`));
        const pairs = matchLeftoversByAmount(
          rows.map((r) => ({ side: r.side, internalOnly: r.internal_only, ident: r.ident, atMs: r.at_ms, amount: BigInt(r.amount) })),
          windowMs,
        );
        const ownedPairs = pairs.filter((pair) => pair.some((m) => owned.has(`${m.internalOnly}|${m.ident}`)));
        const matched: BufferLeftover[] = pairs.flat();
        await tx.query(MATCHED_SQL, [matched.map((m) => m.internalOnly), matched.map((m) => m.ident)]);
        await tx.query(MOVEMENTS_SQL, [tolerance]);
        await tx.query(BALANCES_SQL, [c.ledgerSeq, c.balanceHistoryId, c.withdrawalStateChangeId, scope.period_end, c.keyText, tolerance]);
        return { settlement_buffer_period: { ...period, matched_by_amount: ownedPairs.length } };
      },
    };
  },
};
