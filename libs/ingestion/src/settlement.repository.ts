import type {
  SettlementBalanceHistoryEntry,
  SettlementBalanceResponse,
  SettlementEstimate,
  SettlementEstimateByAssetClassResponse,
  MemberFundingPayment,
} from '@app/klear-contract';
import type { EstimateSource } from '@app/db';
import type { KlearAnswerData } from '@app/klear-client';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { bigints, type SqlTransaction } from './ingestion-transaction.repository';
import { microsecondText, storedInstantUs } from './walks/klear-instant';
import { recordSubtradersSeenInKlear } from './subtrader.repository';

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
  const addAll = (
    scope: EstimateLine['scope'],
    key: string,
    figures: SettlementEstimate,
    omittedSubtraders?: number,
    omittedGroups?: number,
  ) => {
    const id = `${scope}/${key}`;
    const line = all.get(id) ?? { assetClass: '', scope, key, figures: ZERO_ESTIMATE };
    line.figures = addEstimate(line.figures, figures);
    if (omittedSubtraders !== undefined) line.omittedSubtraders = (line.omittedSubtraders ?? 0) + omittedSubtraders;
    if (omittedGroups !== undefined) line.omittedGroups = (line.omittedGroups ?? 0) + omittedGroups;
    all.set(id, line);
  };
  for (const [assetClass, estimate] of Object.entries(answer.estimates)) {
    const user = estimate.user_breakdown ?? ZERO_ESTIMATE;
    lines.push({
      assetClass,
      scope: 'user',
      key: '',
      figures: user,
      omittedSubtraders: estimate.omitted_subtrader_count,
      omittedGroups: estimate.omitted_group_count,
      nextRuntime: estimate.next_runtime,
    });
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
  await recordSubtradersSeenInKlear(
    tx,
    lines.filter((l) => l.scope === 'subtrader').map((l) => l.key),
    pulledAt,
  );
  return 1 + lines.length;
}

export async function insertBalanceSnapshot(
  tx: SqlTransaction,
  answer: SettlementBalanceResponse,
  archiveId: string,
  pulledAt: Date,
): Promise<number> {
  await tx.query(
    `INSERT INTO klear_balance_snapshot (pulled_at, user_id, available_centicents, locked_centicents, archive_id) VALUES ($1, $2, $3, $4, $5)`,
    [
      pulledAt,
      answer.user_id,
      answer.balance_available_centicents.toString(),
      answer.locked_balance_centicents?.toString() ?? null,
      archiveId,
    ],
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
  const identity = (e: SettlementBalanceHistoryEntry) =>
    [e.business_transaction_id, e.balance_delta_centicents, e.locked_balance_delta_centicents, e.reason].join('\u0001');
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
export async function insertBalanceHistory(
  tx: SqlTransaction,
  entries: SettlementBalanceHistoryEntry[],
  archiveId: string,
  pulledAt: Date,
): Promise<number> {
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

/** Stores the settlement prices an answer gave for (asset class, settlement time); first seen wins. */
export async function storeSettlementPrices(
  tx: SqlTransaction,
  assetClass: string,
  settlementTime: string,
  prices: Record<string, bigint>,
  archiveId: string,
  pulledAt: Date,
): Promise<number> {
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
export async function insertMemberFundingPayments(
  tx: SqlTransaction,
  payments: MemberFundingPayment[],
  archiveId: string,
  pulledAt: Date,
): Promise<number> {
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

/** A listed margin report with its row id (the job downloads its file). */
export interface ListedMarginReport {
  id: string;
  url: string;
  reportType: string;
  date: string;
  createdTs: string;
}

/** Margin reports listed by Klear, upserted by (type, date, created_ts); answers their row ids for the download. */
export async function upsertMarginReports(tx: SqlTransaction, answer: KlearAnswerData<'marginReports'>, archiveId: string, pulledAt: Date) {
  const reports: ListedMarginReport[] = [];
  let written = 0;
  for (const report of answer.reports) {
    const [row] = await tx.query<{ id: string; inserted: boolean }>(
      `INSERT INTO klear_margin_report (report_type, report_date, created_ts, is_end_of_day, first_pulled_at, pulled_at, archive_id)
       VALUES ($1, $2, $3, $4, $5, $5, $6)
       ON CONFLICT (report_type, report_date, created_ts) DO UPDATE SET is_end_of_day = EXCLUDED.is_end_of_day,
         pulled_at = GREATEST(klear_margin_report.pulled_at, EXCLUDED.pulled_at), archive_id = EXCLUDED.archive_id
       RETURNING id, (xmax = 0) AS inserted`,
      [report.report_type, report.date, new Date(report.created_ts), report.is_end_of_day, pulledAt, archiveId],
    );
    if (row.inserted) written++;
    reports.push({ id: row.id, url: report.url, reportType: report.report_type, date: report.date, createdTs: report.created_ts });
  }
  return { written, read: answer.reports.length, allKnown: written === 0, reports };
}

export interface EstimateLineRow {
  asset_class: string;
  scope: 'user' | 'subtrader' | 'group';
  key: string;
  variation_margin_centicents: string;
  total_fees_centicents: string;
  maintenance_margin_delta_centicents: string;
  maintenance_margin_required_centicents: string;
  total_amount_centicents: string;
  omitted_subtrader_count: number | null;
  omitted_group_count: number | null;
  /** The asset class's next settlement cycle (its user line only). */
  next_runtime: Date | null;
}

export interface MarginReportRow {
  id: string;
  report_type: string;
  report_date: string;
  created_ts: Date;
  is_end_of_day: boolean;
  pulled_at: Date;
  file_path: string | null;
  file_size: string | null;
  file_sha256: string | null;
  downloaded_at: Date | null;
}

/** Estimates, balances, buffer movements, settlement prices, member funding and margin reports as the API and the jobs read them. */
@Injectable()
export class SettlementRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The oldest buffer movement held (where a deep walk of the balance history may stop). */
  async oldestBalanceHistoryEntry(): Promise<Date | null> {
    const [held] = (await this.dataSource.query(`SELECT min(created_ts) AS oldest FROM klear_balance_history`)) as Array<{
      oldest: Date | null;
    }>;
    return held?.oldest ?? null;
  }

  /** Settled cycles (asset class, execution time) whose settlement prices are not held yet, newest first. */
  cyclesWithoutSettlementPrices(limit: number): Promise<Array<{ asset_class: string; execution_time: Date }>> {
    return this.dataSource.query(
      `SELECT DISTINCT o.asset_class, o.execution_time FROM klear_obligation o
        WHERE NOT EXISTS (SELECT 1 FROM klear_settlement_price p WHERE p.asset_class = o.asset_class AND p.settlement_time = o.execution_time)
        ORDER BY o.execution_time DESC, o.asset_class LIMIT $1`,
      [limit],
    ) as Promise<Array<{ asset_class: string; execution_time: Date }>>;
  }

  /** Funding times the obligations carry that the member-level funding table does not hold yet, newest first. */
  async fundingTimesWithoutMemberPayments(limit: number): Promise<Date[]> {
    const rows = (await this.dataSource.query(
      `SELECT DISTINCT f.funding_time FROM klear_funding_payment f
        WHERE NOT EXISTS (SELECT 1 FROM klear_member_funding_payment m WHERE m.funding_time = f.funding_time)
        ORDER BY f.funding_time DESC LIMIT $1`,
      [limit],
    )) as Array<{ funding_time: Date }>;
    return rows.map((r) => r.funding_time);
  }

  /** The oldest report date whose file is missing or whose last download failed (null: none). */
  async oldestReportDateWithoutFile(): Promise<string | null> {
    const [row] = (await this.dataSource.query(
      `SELECT min(report_date)::text AS d FROM klear_margin_report WHERE file_sha256 IS NULL OR last_download_error IS NOT NULL`,
    )) as Array<{ d: string | null }>;
    return row?.d ?? null;
  }

  /** The stored file columns of the given reports. */
  reportFiles(
    ids: string[],
  ): Promise<Array<{ id: string; file_path: string | null; file_size: string | null; file_sha256: string | null }>> {
    return this.dataSource.query(`SELECT id, file_path, file_size, file_sha256 FROM klear_margin_report WHERE id = ANY($1::bigint[])`, [
      ids,
    ]) as Promise<Array<{ id: string; file_path: string | null; file_size: string | null; file_sha256: string | null }>>;
  }

  async recordReportFile(id: string, file: { path: string; size: number; sha256: string; receivedAt: Date }): Promise<void> {
    await this.dataSource.query(
      `UPDATE klear_margin_report SET file_path = $2, file_size = $3, file_sha256 = $4, downloaded_at = $5, last_download_error = NULL WHERE id = $1`,
      [id, file.path, file.size, file.sha256, file.receivedAt],
    );
  }

  async recordReportDownloadError(id: string, message: string): Promise<void> {
    await this.dataSource.query(`UPDATE klear_margin_report SET last_download_error = $2 WHERE id = $1`, [id, message]);
  }

  async latestEstimate(source: 'settlement_estimate' | 'settlement_estimate_by_asset_class') {
    const [snapshot] = (await this.dataSource.query(
      `SELECT id, pulled_at, settlement_balance_centicents FROM klear_estimate_snapshot WHERE source = $1 ORDER BY pulled_at DESC, id DESC LIMIT 1`,
      [source],
    )) as Array<{ id: string; pulled_at: Date; settlement_balance_centicents: string }>;
    if (!snapshot) return null;
    const lines = (await this.dataSource.query(
      `SELECT asset_class, scope, key, variation_margin_centicents, total_fees_centicents, maintenance_margin_delta_centicents,
              maintenance_margin_required_centicents, total_amount_centicents, omitted_subtrader_count, omitted_group_count, next_runtime
         FROM klear_estimate_line WHERE snapshot_id = $1 ORDER BY asset_class, scope DESC, key`,
      [snapshot.id],
    )) as EstimateLineRow[];
    return { ...snapshot, lines };
  }

  async latestBalance() {
    const [row] = (await this.dataSource.query(
      `SELECT pulled_at, user_id, available_centicents, locked_centicents FROM klear_balance_snapshot ORDER BY pulled_at DESC, id DESC LIMIT 1`,
    )) as Array<{ pulled_at: Date; user_id: string; available_centicents: string; locked_centicents: string | null }>;
    return row ?? null;
  }

  /** Most recent first, like Klear. */
  balanceHistory(limit: number, after?: { createdTs: string; id: string }) {
    const params: unknown[] = [];
    const where = after
      ? `WHERE (created_ts, id) < ($${params.push(after.createdTs)}::timestamptz, $${params.push(after.id)}::bigint)`
      : '';
    return this.dataSource.query(
      `SELECT id, business_transaction_id, created_ts, balance_delta_centicents, locked_balance_delta_centicents, reason, first_pulled_at
         FROM klear_balance_history ${where} ORDER BY created_ts DESC, id DESC LIMIT $${params.push(limit)}`,
      params,
    ) as Promise<
      Array<{
        id: string;
        business_transaction_id: string;
        created_ts: Date;
        balance_delta_centicents: string;
        locked_balance_delta_centicents: string;
        reason: string;
        first_pulled_at: Date;
      }>
    >;
  }

  /**
   * Per settlement day (America/New_York) from `from` to `to`: the buffer at the day's last balance pull
   * (none yet: nulls) and the day's obligations, what the member pays and what it receives.
   */
  bufferByDay(from: string, to: string) {
    return this.dataSource.query(
      `SELECT d::date::text AS date, b.available_centicents::text AS available_centicents, b.locked_centicents::text AS locked_centicents,
              o.payable_centicents, o.receivable_centicents, coalesce(o.cycles, 0)::int AS cycles
         FROM generate_series($1::date, $2::date, interval '1 day') d
         LEFT JOIN LATERAL (SELECT available_centicents, coalesce(locked_centicents, 0) AS locked_centicents FROM klear_balance_snapshot
                             WHERE pulled_at < ((d + interval '1 day')::timestamp AT TIME ZONE 'America/New_York') ORDER BY pulled_at DESC, id DESC LIMIT 1) b ON true
         LEFT JOIN LATERAL (SELECT (-sum(least(amount_centicents, 0)))::text AS payable_centicents, sum(greatest(amount_centicents, 0))::text AS receivable_centicents,
                                   count(DISTINCT execution_time) AS cycles
                              FROM klear_obligation
                             WHERE execution_time >= (d::timestamp AT TIME ZONE 'America/New_York')
                               AND execution_time < ((d + interval '1 day')::timestamp AT TIME ZONE 'America/New_York')) o ON true
        ORDER BY d`,
      [from, to],
    ) as Promise<
      Array<{
        date: string;
        available_centicents: string | null;
        locked_centicents: string | null;
        payable_centicents: string | null;
        receivable_centicents: string | null;
        cycles: number;
      }>
    >;
  }

  reports(limit: number, after?: { reportDate: string; id: string }): Promise<MarginReportRow[]> {
    const params: unknown[] = [];
    const where = after ? `WHERE (report_date, id) < ($${params.push(after.reportDate)}::date, $${params.push(after.id)}::bigint)` : '';
    return this.dataSource.query(
      `SELECT id, report_type, report_date::text AS report_date, created_ts, is_end_of_day, pulled_at, file_path, file_size, file_sha256, downloaded_at
         FROM klear_margin_report ${where} ORDER BY report_date DESC, id DESC LIMIT $${params.push(limit)}`,
      params,
    ) as Promise<MarginReportRow[]>;
  }

  async report(id: string): Promise<MarginReportRow | null> {
    if (!/^[0-9]{1,18}$/.test(id)) return null;
    const [row] = (await this.dataSource.query(
      `SELECT id, report_type, report_date::text AS report_date, created_ts, is_end_of_day, pulled_at, file_path, file_size, file_sha256, downloaded_at
         FROM klear_margin_report WHERE id = $1`,
      [id],
    )) as MarginReportRow[];
    return row ?? null;
  }
}
