import type {
  GuarantyFundBalanceResponse,
  LargeTraderPositionsResponse,
  SettlementBalanceHistoryEntry,
  SettlementBalanceResponse,
  SettlementEstimate,
  SettlementEstimateByAssetClassResponse,
  SettlementEstimateResponse,
} from '@app/klear-contract';
import type { EstimateSource } from '@app/db';
import { bigints, type SqlTransaction } from './sql-transaction';
import { recordSubtradersSeenInKlear } from './subtrader-registry';

interface EstimateLine {
  assetClass: string;
  scope: 'user' | 'subtrader' | 'group';
  key: string;
  figures: SettlementEstimate;
  omittedSubtraders?: number;
  omittedGroups?: number;
}

/** A timestamped snapshot of either estimate endpoint, with one line per breakdown entry. */
export async function insertEstimateSnapshot(
  tx: SqlTransaction,
  source: EstimateSource,
  answer: SettlementEstimateResponse | SettlementEstimateByAssetClassResponse,
  archiveId: string,
  pulledAt: Date,
): Promise<number> {
  const lines: EstimateLine[] = [];
  if ('asset_classes' in answer) {
    for (const [assetClass, estimate] of Object.entries(answer.asset_classes)) {
      lines.push({ assetClass, scope: 'user', key: '', figures: estimate.user_breakdown, omittedSubtraders: estimate.omitted_subtrader_count, omittedGroups: estimate.omitted_group_count });
      for (const [key, figures] of Object.entries(estimate.subtrader_breakdowns ?? {})) lines.push({ assetClass, scope: 'subtrader', key, figures });
      for (const [key, figures] of Object.entries(estimate.group_breakdowns ?? {})) lines.push({ assetClass, scope: 'group', key, figures });
    }
  } else {
    lines.push({ assetClass: '', scope: 'user', key: '', figures: answer.user_breakdown });
    for (const [key, figures] of Object.entries(answer.subtrader_breakdowns ?? {})) lines.push({ assetClass: '', scope: 'subtrader', key, figures });
  }
  const [snapshot] = await tx.query<{ id: string }>(
    `INSERT INTO klear_estimate_snapshot (source, pulled_at, settlement_balance_centicents, archive_id) VALUES ($1, $2, $3, $4) RETURNING id`,
    [source, pulledAt, answer.settlement_balance_centicents.toString(), archiveId],
  );
  await tx.query(
    `INSERT INTO klear_estimate_line (snapshot_id, asset_class, scope, key, variation_margin_centicents, total_fees_centicents,
       maintenance_margin_delta_centicents, maintenance_margin_required_centicents, total_amount_centicents, omitted_subtrader_count, omitted_group_count)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::int[], $11::int[])`,
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

/** Inserts the entries not held yet (identity: transaction id, time, deltas, reason); answers how many were new. */
export async function insertBalanceHistory(tx: SqlTransaction, entries: SettlementBalanceHistoryEntry[], archiveId: string, pulledAt: Date): Promise<number> {
  if (entries.length === 0) return 0;
  const rows = await tx.query(
    `INSERT INTO klear_balance_history (business_transaction_id, created_ts, balance_delta_centicents, locked_balance_delta_centicents, reason, first_pulled_at, archive_id)
     SELECT DISTINCT t.*, $6::timestamptz, $7::bigint FROM unnest($1::text[], $2::timestamptz[], $3::bigint[], $4::bigint[], $5::text[]) AS t
     ON CONFLICT (business_transaction_id, created_ts, balance_delta_centicents, locked_balance_delta_centicents, reason) DO NOTHING
     RETURNING 1`,
    [
      entries.map((e) => e.business_transaction_id),
      entries.map((e) => e.created_ts),
      bigints(entries.map((e) => e.balance_delta_centicents)),
      bigints(entries.map((e) => e.locked_balance_delta_centicents)),
      entries.map((e) => e.reason),
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

export async function insertActiveObligationPull(tx: SqlTransaction, obligationId: string | null, archiveId: string, pulledAt: Date): Promise<void> {
  await tx.query(`INSERT INTO klear_active_obligation_pull (pulled_at, obligation_id, archive_id) VALUES ($1, $2, $3)`, [pulledAt, obligationId, archiveId]);
}
