import type {
  GuarantyFundBalanceResponse,
  LargeTraderPositionsResponse,
  SettlementBalanceHistoryEntry,
  SettlementBalanceResponse,
  SettlementEstimate,
  SettlementEstimateByAssetClassResponse,
  MarginSubtraderGroup,
  MemberFundingPayment,
} from '@app/klear-contract';
import type { EstimateSource } from '@app/db';
import { bigints, type SqlTransaction } from './sql-transaction';
import { microsecondText, storedInstantUs } from './walks/klear-instant';
import { recordSubtradersSeenInKlear } from './subtrader-registry';

interface EstimateLine {
  assetClass: string;
  scope: 'user' | 'subtrader' | 'group';
  key: string;
  figures: SettlementEstimate;
  omittedSubtraders?: number;
  omittedGroups?: number;
  nextRuntime?: string;
}

const ZERO_ESTIMATE: SettlementEstimate = {
  variation_margin_centicents: 0n,
  total_fees_centicents: 0n,
  maintenance_margin_delta_centicents: 0n,
  maintenance_margin_required_centicents: 0n,
  total_amount_centicents: 0n,
};

function addEstimate(a: SettlementEstimate, b: SettlementEstimate): SettlementEstimate {
  return {
    variation_margin_centicents: a.variation_margin_centicents + b.variation_margin_centicents,
    total_fees_centicents: a.total_fees_centicents + b.total_fees_centicents,
    maintenance_margin_delta_centicents: a.maintenance_margin_delta_centicents + b.maintenance_margin_delta_centicents,
    maintenance_margin_required_centicents: a.maintenance_margin_required_centicents + b.maintenance_margin_required_centicents,
    total_amount_centicents: a.total_amount_centicents + b.total_amount_centicents,
  };
}

/**
 * A timestamped snapshot of the by-asset-class estimate: one line per asset class and breakdown
 * entry (the class's `next_runtime` on its user line), plus derived lines under asset class ''
 * adding up every class (the user line; each subtrader and group over the classes that list it),
 * which the projected check and the withdrawal headroom read.
 */
export async function insertEstimateSnapshot(
  tx: SqlTransaction,
  source: EstimateSource,
  answer: SettlementEstimateByAssetClassResponse,
  archiveId: string,
  pulledAt: Date,
): Promise<number> {
  const lines: EstimateLine[] = [];
  const all = new Map<string, EstimateLine>();
  const addAll = (scope: EstimateLine['scope'], key: string, figures: SettlementEstimate, omittedSubtraders?: number, omittedGroups?: number) => {
    const id = `${scope}/${key}`;
    const line = all.get(id) ?? { assetClass: '', scope, key, figures: ZERO_ESTIMATE };
    line.figures = addEstimate(line.figures, figures);
    if (omittedSubtraders !== undefined) line.omittedSubtraders = (line.omittedSubtraders ?? 0) + omittedSubtraders;
    if (omittedGroups !== undefined) line.omittedGroups = (line.omittedGroups ?? 0) + omittedGroups;
    all.set(id, line);
  };
  for (const [assetClass, estimate] of Object.entries(answer.estimates)) {
    const user = estimate.user_breakdown ?? ZERO_ESTIMATE;
    lines.push({ assetClass, scope: 'user', key: '', figures: user, omittedSubtraders: estimate.omitted_subtrader_count, omittedGroups: estimate.omitted_group_count, nextRuntime: estimate.next_runtime });
    addAll('user', '', user, estimate.omitted_subtrader_count, estimate.omitted_group_count);
    for (const [key, figures] of Object.entries(estimate.subtrader_breakdowns ?? {})) {
      lines.push({ assetClass, scope: 'subtrader', key, figures });
      addAll('subtrader', key, figures);
    }
    for (const [key, figures] of Object.entries(estimate.group_breakdowns ?? {})) {
      lines.push({ assetClass, scope: 'group', key, figures });
      addAll('group', key, figures);
    }
  }
  lines.push(...all.values());
  const [snapshot] = await tx.query<{ id: string }>(
    `INSERT INTO klear_estimate_snapshot (source, pulled_at, settlement_balance_centicents, archive_id) VALUES ($1, $2, $3, $4) RETURNING id`,
    [source, pulledAt, answer.settlement_balance_centicents.toString(), archiveId],
  );
  await tx.query(
    `INSERT INTO klear_estimate_line (snapshot_id, asset_class, scope, key, variation_margin_centicents, total_fees_centicents,
       maintenance_margin_delta_centicents, maintenance_margin_required_centicents, total_amount_centicents, omitted_subtrader_count, omitted_group_count, next_runtime)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::int[], $11::int[], $12::timestamptz[])`,
    [
      snapshot.id,
      lines.map((l) => l.assetClass),
      lines.map((l) => l.scope),
      lines.map((l) => l.key),
      bigints(lines.map((l) => l.figures.variation_margin_centicents)),
      bigints(lines.map((l) => l.figures.total_fees_centicents)),
      bigints(lines.map((l) => l.figures.maintenance_margin_delta_centicents)),
      bigints(lines.map((l) => l.figures.maintenance_margin_required_centicents)),
      bigints(lines.map((l) => l.figures.total_amount_centicents)),
      lines.map((l) => l.omittedSubtraders ?? null),
      lines.map((l) => l.omittedGroups ?? null),
      lines.map((l) => l.nextRuntime ?? null),
    ],
  );
  await recordSubtradersSeenInKlear(tx, lines.filter((l) => l.scope === 'subtrader').map((l) => l.key), pulledAt);
  return 1 + lines.length;
}

export async function insertBalanceSnapshot(tx: SqlTransaction, answer: SettlementBalanceResponse, archiveId: string, pulledAt: Date): Promise<number> {
  await tx.query(
    `INSERT INTO klear_balance_snapshot (pulled_at, user_id, available_centicents, locked_centicents, archive_id) VALUES ($1, $2, $3, $4, $5)`,
    [pulledAt, answer.user_id, answer.balance_available_centicents.toString(), answer.locked_balance_centicents?.toString() ?? null, archiveId],
  );
  return 1;
}

/**
 * Klear gives balance-history entries no id, and may really hold two identical ones (same transaction,
 * time, deltas and reason). An entry's occurrence is its rank (0, 1, ...) among the identical entries of
 * its instant's block in the answer: the run of entries side by side that share its created_ts (as
 * PostgreSQL stores it, to the microsecond). So A, B, A at one instant are A 0, B 0, A 1, in any order
 * among them; an answer that holds only part of a block (a page boundary cuts it, a page overlaps the
 * one before) stores a part of the block's identities, never one twice, and the walk reads a block that
 * a boundary splits again from its start (walks/balance-history-walk.ts). A repeat that stands apart
 * from its block (a page that appends its first entry again) starts again at 0 and is not stored twice.
 */
export function balanceEntryOccurrences(entries: readonly SettlementBalanceHistoryEntry[]): number[] {
  const instants = entries.map((e) => storedInstantUs(e.created_ts));
  const identity = (e: SettlementBalanceHistoryEntry) => [e.business_transaction_id, e.balance_delta_centicents, e.locked_balance_delta_centicents, e.reason].join('\u0001');
  const occurrences: number[] = [];
  let seenInBlock = new Map<string, number>();
  entries.forEach((entry, i) => {
    if (i > 0 && instants[i - 1] !== instants[i]) seenInBlock = new Map();
    const key = identity(entry);
    const rank = seenInBlock.get(key) ?? 0;
    seenInBlock.set(key, rank + 1);
    occurrences.push(rank);
  });
  return occurrences;
}

/** Inserts the entries not held yet (identity: transaction id, time, deltas, reason, occurrence); answers how many were new. */
export async function insertBalanceHistory(tx: SqlTransaction, entries: SettlementBalanceHistoryEntry[], archiveId: string, pulledAt: Date): Promise<number> {
  if (entries.length === 0) return 0;
  const rows = await tx.query(
    `INSERT INTO klear_balance_history (business_transaction_id, created_ts, balance_delta_centicents, locked_balance_delta_centicents, reason, occurrence, first_pulled_at, archive_id)
     SELECT DISTINCT t.*, $7::timestamptz, $8::bigint FROM unnest($1::text[], $2::timestamptz[], $3::bigint[], $4::bigint[], $5::text[], $6::int[]) AS t
     ON CONFLICT (business_transaction_id, created_ts, balance_delta_centicents, locked_balance_delta_centicents, reason, occurrence) DO NOTHING
     RETURNING 1`,
    [
      entries.map((e) => e.business_transaction_id),
      // The instant as stored, the one the occurrences were counted on.
      entries.map((e) => microsecondText(storedInstantUs(e.created_ts))),
      bigints(entries.map((e) => e.balance_delta_centicents)),
      bigints(entries.map((e) => e.locked_balance_delta_centicents)),
      entries.map((e) => e.reason),
      balanceEntryOccurrences(entries),
      pulledAt,
      archiveId,
    ],
  );
  return rows.length;
}

export async function insertGuarantyFundSnapshot(tx: SqlTransaction, answer: GuarantyFundBalanceResponse, archiveId: string, pulledAt: Date): Promise<number> {
  await tx.query(
    `INSERT INTO klear_guaranty_fund_snapshot (pulled_at, user_id, amount_centicents, updated_ts, archive_id) VALUES ($1, $2, $3, $4, $5)`,
    [pulledAt, answer.user_id, answer.amount_centicents.toString(), new Date(answer.updated_ts), archiveId],
  );
  return 1;
}

export async function insertLargeTraderSnapshot(tx: SqlTransaction, answer: LargeTraderPositionsResponse, archiveId: string, pulledAt: Date): Promise<number> {
  const [snapshot] = await tx.query<{ id: string }>(
    `INSERT INTO klear_large_trader_snapshot (pulled_at, user_id, report_date, archive_id) VALUES ($1, $2, $3, $4) RETURNING id`,
    [pulledAt, answer.user_id, answer.report_date, archiveId],
  );
  const positions = new Map(answer.positions.map((p) => [p.market_ticker, p.position]));
  if (positions.size) {
    await tx.query(
      `INSERT INTO klear_large_trader_position (snapshot_id, market_ticker, position) SELECT $1, * FROM unnest($2::text[], $3::bigint[])`,
      [snapshot.id, [...positions.keys()], bigints([...positions.values()])],
    );
  }
  return 1 + positions.size;
}

/** One row per active obligation of a pull (one row with no obligation when none is active). */
export async function insertActiveObligationPull(tx: SqlTransaction, obligationIds: string[], archiveId: string, pulledAt: Date): Promise<void> {
  const ids = obligationIds.length > 0 ? obligationIds : [null];
  await tx.query(`INSERT INTO klear_active_obligation_pull (pulled_at, obligation_id, archive_id) SELECT $1, id, $3 FROM unnest($2::text[]) AS id`, [pulledAt, ids, archiveId]);
}

/** Stores the settlement prices an answer gave for (asset class, settlement time); first seen wins. */
export async function storeSettlementPrices(tx: SqlTransaction, assetClass: string, settlementTime: string, prices: Record<string, bigint>, archiveId: string, pulledAt: Date): Promise<number> {
  const tickers = Object.keys(prices);
  if (tickers.length === 0) return 0;
  const rows = await tx.query(
    `INSERT INTO klear_settlement_price (asset_class, settlement_time, market_ticker, price_centicents, first_pulled_at, archive_id)
     SELECT $1, $2, t.ticker, t.price, $5, $6 FROM unnest($3::text[], $4::bigint[]) AS t(ticker, price)
     ON CONFLICT DO NOTHING RETURNING 1`,
    [assetClass, new Date(settlementTime), tickers, bigints(tickers.map((t) => prices[t])), pulledAt, archiveId],
  );
  return rows.length;
}

/** The member's funding payments at one funding time; a payment already held is not repeated. */
export async function insertMemberFundingPayments(tx: SqlTransaction, payments: MemberFundingPayment[], archiveId: string, pulledAt: Date): Promise<number> {
  if (payments.length === 0) return 0;
  const rows = await tx.query(
    `INSERT INTO klear_member_funding_payment (funding_time, market_ticker, subtrader_id, position_quantity_fp, notional_value_centicents, funding_amount_centicents, first_pulled_at, archive_id)
     SELECT DISTINCT ON (t.ft, t.mt, t.st) t.*, $7::timestamptz, $8::bigint
       FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::numeric[], $5::bigint[], $6::bigint[]) AS t(ft, mt, st, q, n, a)
     ON CONFLICT DO NOTHING RETURNING 1`,
    [
      payments.map((p) => p.funding_time),
      payments.map((p) => p.market_ticker),
      payments.map((p) => p.subtrader_id),
      payments.map((p) => p.position_quantity_fp),
      bigints(payments.map((p) => p.notional_value_centicents)),
      bigints(payments.map((p) => p.funding_amount_centicents)),
      pulledAt,
      archiveId,
    ],
  );
  return rows.length;
}

/**
 * Subtrader group membership with history: a (group, subtrader) pair listed and not held opens a
 * membership at the pull time; one held and no longer listed is closed at the pull time.
 */
export async function recordSubtraderGroups(tx: SqlTransaction, answer: { groups: MarginSubtraderGroup[] }, archiveId: string, pulledAt: Date): Promise<number> {
  const pairs = answer.groups.flatMap((g) => g.member_subtrader_ids.map((subtrader) => [g.group_id, subtrader] as const));
  const closed = await tx.query(
    `UPDATE klear_subtrader_group_membership m SET valid_to = $3, ended_archive_id = $4
      WHERE m.valid_to IS NULL AND m.valid_from <= $3
        AND NOT EXISTS (SELECT 1 FROM unnest($1::text[], $2::text[]) AS t(g, s) WHERE t.g = m.group_id AND t.s = m.subtrader_id)
      RETURNING 1`,
    [pairs.map((p) => p[0]), pairs.map((p) => p[1]), pulledAt, archiveId],
  );
  const opened = await tx.query(
    `INSERT INTO klear_subtrader_group_membership (group_id, subtrader_id, valid_from, archive_id)
     SELECT DISTINCT t.g, t.s, $3::timestamptz, $4::bigint FROM unnest($1::text[], $2::text[]) AS t(g, s)
     ON CONFLICT (group_id, subtrader_id) WHERE valid_to IS NULL DO NOTHING RETURNING 1`,
    [pairs.map((p) => p[0]), pairs.map((p) => p[1]), pulledAt, archiveId],
  );
  return closed.length + opened.length;
}
