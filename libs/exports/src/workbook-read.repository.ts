import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { withCycleScans } from '@app/db';
import type pg from 'pg';
import { DataSource } from 'typeorm';
import type { SettlementDay } from './settlement-day';
import {
  AUDIT_ANCHOR_SQL,
  BREAKS_CLOSED_DURING_SQL,
  BUFFER_AT_SQL,
  BUFFER_MOVEMENTS_SQL,
  BUFFER_TOTALS_SQL,
  CYCLE_TOTALS_SQL,
  CYCLES_SQL,
  FOUND_BREAKS_SQL,
  FUNDING_SQL,
  JOB_HEALTH_SQL,
  LATEST_RUNS_SQL,
  NEXT_DAY_CYCLES_SQL,
  NEXT_DAY_WORKBOOK_SQL,
  OPEN_BREAKS_BEFORE_SQL,
  SETTLEMENT_DETAILS_SQL,
  SUBTRADER_GROUPS_SQL,
  SUBTRADERS_SQL,
  WITHDRAWAL_TOTALS_SQL,
  WITHDRAWALS_SQL,
} from './sql/workbook-read.sql';
import type {
  AuditAnchor,
  BreakListing,
  BreakRow,
  BufferMovementRow,
  BufferPoint,
  BufferTotals,
  CycleRow,
  CycleTotals,
  DetailMatch,
  FundingRow,
  JobHealthRow,
  NextDayStatus,
  RunRow,
  SettlementDetailRow,
  SubtraderFigures,
  WithdrawalDayTotal,
  WithdrawalRow,
} from './workbook-rows';

type Row = Record<string, string | null>;
const big = (v: string | null): bigint => (v === null ? 0n : BigInt(v));
const bigOrNull = (v: string | null): bigint | null => (v === null ? null : BigInt(v));
/** Rows PostgreSQL sends per FETCH of the settlement-details cursor. */
export const DETAIL_FETCH_SIZE = 10_000;
const NO_HIGH_WATER_MARK = '9223372036854775807';

/** The ledger bound per cycle: `unnest($1 cycles, $2 high-water marks)` feeds every per-cycle query. */
export interface CycleScope {
  cycles: Date[];
  highWaterMarks: string[];
}

/** Each cycle of the day bounded by its run's ledger high-water mark (the whole ledger when not reconciled). */
export function cycleScope(cycles: CycleRow[], runs: RunRow[]): CycleScope {
  // A cycle's runs (one per asset class) may have read the ledger up to different marks: the figures use the earliest.
  const hwm = new Map<number, string>();
  for (const r of runs) {
    if (r.ledgerHighWaterMark === null) continue;
    const held = hwm.get(r.cycle.getTime());
    if (held === undefined || BigInt(r.ledgerHighWaterMark) < BigInt(held)) hwm.set(r.cycle.getTime(), r.ledgerHighWaterMark);
  }
  const times = [...new Set(cycles.map((c) => c.executionTime.getTime()))];
  return { cycles: times.map((t) => new Date(t)), highWaterMarks: times.map((t) => hwm.get(t) ?? NO_HIGH_WATER_MARK) };
}

/**
 * The workbook's read model. Every read of one workbook happens in one REPEATABLE READ, READ ONLY
 * transaction on one connection (the million-row cursor included), so all sheets describe the same
 * instant of the database: a run finishing or a break resolved while the file is written cannot make
 * two sheets disagree.
 */
@Injectable()
export class WorkbookReadRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async snapshot<T>(read: (reader: WorkbookReader) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    const client = (await runner.connect()) as pg.PoolClient;
    let open = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      open = true;
      const result = await read(new WorkbookReader(client));
      await client.query('COMMIT');
      open = false;
      return result;
    } finally {
      if (open) await client.query('ROLLBACK').catch(() => undefined);
      await runner.release();
    }
  }
}

/** The reads of one workbook, inside the snapshot's transaction. */
export class WorkbookReader {
  constructor(private readonly client: pg.PoolClient) {}

  private async rows<T>(text: string, values: unknown[] = []): Promise<T[]> {
    return (await this.client.query(text, values)).rows as T[];
  }

  /**
   * A statement reading whole cycles out of their month partitions, planned with bitmap scans only
   * (withCycleScans, libs/db/src/cycle-scans.ts; why and the figures: docs/partitioning-and-retention.md).
   */
  private cycleRows<T>(text: string, values: unknown[] = []): Promise<T[]> {
    return withCycleScans(this.client, async () => (await this.client.query(text, values)).rows as T[]);
  }

  async cyclesOf(day: SettlementDay): Promise<CycleRow[]> {
    const rows = await this.rows<Row & { execution_time: Date; last_updated_ts: Date }>(CYCLES_SQL, [day.start, day.end]);
    return rows.map((r) => ({
      obligationId: r.id!,
      executionTime: r.execution_time,
      amountCenticents: big(r.amount),
      pnlCenticents: big(r.pnl),
      feesCenticents: big(r.fees),
      maintenanceMarginCenticents: big(r.mm),
      lastUpdatedTs: r.last_updated_ts,
      detailsTotalCenticents: big(r.details_total),
      detailsPnlLessFeesCenticents: big(r.details_pnl_less_fees),
      marginDeltaCenticents: big(r.margin_delta),
    }));
  }

  /** Per cycle, the latest successful (non-projected) reconciliation run. */
  async latestRuns(cycles: Date[]): Promise<RunRow[]> {
    if (cycles.length === 0) return [];
    const rows = await this.rows<{
      id: string;
      cycle: Date;
      hwm: string | null;
      finished_at: Date | null;
      tolerances: Record<string, string>;
      tolerated: Array<{ check: string; count: number; difference: string }>;
      later_entries: number;
      klear_changed: boolean;
    }>(LATEST_RUNS_SQL, [cycles]);
    return rows.map((r) => ({
      runId: r.id,
      cycle: r.cycle,
      ledgerHighWaterMark: r.hwm,
      finishedAt: r.finished_at,
      tolerances: r.tolerances,
      tolerated: r.tolerated.map((t) => ({ check: t.check, count: t.count, differenceCenticents: BigInt(t.difference) })),
      laterLedgerEntries: r.later_entries,
      klearChangedSince: r.klear_changed,
    }));
  }

  async cycleTotals(scope: CycleScope): Promise<CycleTotals[]> {
    const rows = await this.cycleRows<Row & { cycle: Date }>(CYCLE_TOTALS_SQL, [scope.cycles, scope.highWaterMarks]);
    return rows.map((r) => ({ cycle: r.cycle as unknown as Date, ...comparison(r) }));
  }

  /** Figures per subtrader over the day's cycles, plus a row for each of `alsoWithBreaks` that has none. */
  async subtraders(scope: CycleScope, alsoWithBreaks: string[]): Promise<SubtraderFigures[]> {
    const rows = await this.cycleRows<Row & { in_klear: boolean; in_ledger: boolean }>(SUBTRADERS_SQL, [
      scope.cycles,
      scope.highWaterMarks,
      alsoWithBreaks,
    ]);
    const ids = rows.map((r) => r.subtrader_id!);
    const groups = new Map((await this.rows<Row>(SUBTRADER_GROUPS_SQL, [scope.cycles, ids])).map((g) => [g.subtrader_id!, g.group_id]));
    return rows.map((r) => ({
      subtraderId: r.subtrader_id!,
      groupId: groups.get(r.subtrader_id!) ?? null,
      knownToKlear: r.in_klear,
      knownToLedger: r.in_ledger,
      ...comparison(r),
    }));
  }

  /** Funding per (cycle, subtrader, market) of the day's cycles: Klear's payments vs the ledger's `funding` postings. */
  async funding(scope: CycleScope): Promise<FundingRow[]> {
    const rows = await this.cycleRows<Row & { cycle: Date; payments: number }>(FUNDING_SQL, [scope.cycles, scope.highWaterMarks]);
    return rows.map((r) => ({
      cycle: r.cycle,
      assetClass: r.asset_class,
      subtraderId: r.subtrader_id!,
      groupId: r.group_id,
      marketTicker: r.market_ticker!,
      payments: r.payments,
      klearCenticents: bigOrNull(r.klear),
      internalCenticents: bigOrNull(r.internal),
      differenceCenticents: big(r.difference),
      match: r.match as DetailMatch,
    }));
  }

  /**
   * The breaks the runs found, as each run observed them, with each break's state now. The runs'
   * cycles are the observations' partition key: the read stays in the day's month.
   */
  async foundBreaks(runs: Array<Pick<RunRow, 'runId' | 'cycle'>>): Promise<BreakRow[]> {
    if (runs.length === 0) return [];
    return (await this.rows<BreakSqlRow>(FOUND_BREAKS_SQL, [runs.map((r) => r.runId), runs.map((r) => r.cycle)])).map((r) =>
      breakRow(r, 'found'),
    );
  }

  /** Breaks closed or resolved during the day, except `listed` (break ids already on the sheet). */
  async breaksClosedDuring(day: SettlementDay, listed: string[]): Promise<BreakRow[]> {
    return (await this.rows<BreakSqlRow>(BREAKS_CLOSED_DURING_SQL, [day.start, day.end, listed])).map((r) =>
      breakRow(r, 'closed on the day'),
    );
  }

  async openBreaksBefore(at: Date): Promise<{ count: number; differenceCenticents: bigint }> {
    const [r] = await this.rows<{ n: number; difference: string }>(OPEN_BREAKS_BEFORE_SQL, [at]);
    return { count: r.n, differenceCenticents: BigInt(r.difference) };
  }

  async bufferAt(at: Date): Promise<BufferPoint> {
    const [r] = await this.rows<{ n: number; available: string; locked: string }>(BUFFER_AT_SQL, [at]);
    return { at, availableCenticents: BigInt(r.available), lockedCenticents: BigInt(r.locked), movementCount: r.n };
  }

  async bufferTotals(day: SettlementDay): Promise<BufferTotals> {
    const [r] = await this.rows<{ k_n: number; k_sum: string; i_n: number; i_sum: string }>(BUFFER_TOTALS_SQL, [day.start, day.end]);
    return {
      klearMovementCount: r.k_n,
      klearMovementsCenticents: BigInt(r.k_sum),
      internalMovementCount: r.i_n,
      internalMovementsCenticents: BigInt(r.i_sum),
    };
  }

  async bufferMovements(day: SettlementDay): Promise<BufferMovementRow[]> {
    const rows = await this.rows<Row & { created_ts: Date | null; effective_at: Date | null }>(BUFFER_MOVEMENTS_SQL, [day.start, day.end]);
    return rows.map((r) => ({
      createdTs: r.created_ts,
      businessTransactionId: r.business_transaction_id,
      reason: r.reason,
      klearDeltaCenticents: bigOrNull(r.k_delta),
      klearLockedDeltaCenticents: bigOrNull(r.k_locked),
      internalExternalId: r.external_id,
      internalEffectiveAt: r.effective_at,
      internalDescription: r.description,
      internalAmountCenticents: bigOrNull(r.i_amount),
      breakKey: r.break_key,
      breakReason: r.break_reason,
      breakStatus: r.break_status,
    }));
  }

  async withdrawalTotals(day: SettlementDay): Promise<WithdrawalDayTotal[]> {
    const rows = await this.rows<{ state: string; n: number; amount: string }>(WITHDRAWAL_TOTALS_SQL, [day.start, day.end]);
    return rows.map((r) => ({ state: r.state, count: r.n, amountCenticents: BigInt(r.amount) }));
  }

  async withdrawals(day: SettlementDay): Promise<WithdrawalRow[]> {
    const rows = await this.rows<Row & { created_at: Date; submitted_at: Date | null }>(WITHDRAWALS_SQL, [day.start, day.end]);
    return rows.map((r) => ({
      requestId: r.id!,
      createdAt: r.created_at,
      requesterName: r.requester_name!,
      amountCenticents: BigInt(r.amount!),
      purpose: r.purpose!,
      state: r.state!,
      approvals: r.approvals!,
      klearWithdrawalId: r.klear_withdrawal_id,
      klearStatus: r.klear_status,
      submittedAt: r.submitted_at,
      history: r.history!,
    }));
  }

  async jobHealth(): Promise<JobHealthRow[]> {
    const rows = await this.rows<{ job: string; last_success: Date | null; last_status: string | null; last_run: Date | null }>(
      JOB_HEALTH_SQL,
    );
    return rows.map((r) => ({ job: r.job, lastSuccessAt: r.last_success, lastRunStatus: r.last_status, lastRunAt: r.last_run }));
  }

  async auditAnchor(): Promise<AuditAnchor | null> {
    const [r] = await this.rows<{ seq: string; hash: string; mac: string | null; mac_key_id: string | null }>(AUDIT_ANCHOR_SQL);
    return r ? { seq: r.seq, hash: r.hash, mac: r.mac, macKeyId: r.mac_key_id } : null;
  }

  async nextDay(next: SettlementDay): Promise<NextDayStatus> {
    const cycles = await this.rows<{ cycle: Date; reconciled: boolean }>(NEXT_DAY_CYCLES_SQL, [next.start, next.end]);
    const [w] = await this.rows<{ previous_cycle: Date | null; version: number | null; created_at: Date | null }>(NEXT_DAY_WORKBOOK_SQL, [
      next.start,
      next.date,
    ]);
    return {
      date: next.date,
      cycles: cycles.map((c) => c.cycle),
      reconciledCycles: cycles.filter((c) => c.reconciled).length,
      latestWorkbook: w.version === null ? null : { version: w.version, createdAt: w.created_at! },
      previousCycle: w.previous_cycle,
    };
  }

  /**
   * Every Klear settlement detail of the scope's cycles beside the ledger's figures for the same
   * (cycle, subtrader, market), plus ledger-only markets, in FETCH batches of a cursor inside the
   * snapshot's transaction, so a 1,000,000-row day never sits in memory. The next batch is fetched
   * while the caller writes the current one.
   */
  async *settlementDetails(scope: CycleScope, fetchSize = DETAIL_FETCH_SIZE): AsyncGenerator<SettlementDetailRow[]> {
    const fetch = () => this.client.query<unknown[]>({ text: `FETCH ${fetchSize} FROM settlement_details`, rowMode: 'array' });
    let pending: ReturnType<typeof fetch> | undefined;
    // The whole result is read: plan for all rows (hash joins), not the first 10%.
    await this.client.query('SET LOCAL cursor_tuple_fraction = 1');
    // The plan is made at DECLARE: bitmap scans of the cycle only, as cycleRows.
    await withCycleScans(this.client, () =>
      this.client.query({
        text: `DECLARE settlement_details NO SCROLL CURSOR FOR ${SETTLEMENT_DETAILS_SQL}`,
        values: [scope.cycles, scope.highWaterMarks],
      }),
    );
    try {
      pending = fetch();
      for (;;) {
        const result = await pending;
        pending = undefined;
        if (result.rows.length === 0) break;
        pending = fetch();
        yield result.rows.map(detailRow);
      }
    } finally {
      // An early return (caller stopped) leaves a fetch in flight; the cursor goes with the transaction otherwise.
      await pending?.catch(() => undefined);
      await this.client.query('CLOSE settlement_details').catch(() => undefined);
    }
  }
}

type BreakSqlRow = Row & { cycle: Date | null; first_seen_at: Date; closed_at: Date | null };

function breakRow(r: BreakSqlRow, listing: BreakListing): BreakRow {
  return {
    breakId: r.id!,
    key: r.key!,
    check: r.check!,
    reasonCode: r.reason_code!,
    cycle: r.cycle,
    subtraderId: r.subtrader_id,
    marketTicker: r.market_ticker,
    reference: r.reference,
    klearCenticents: bigOrNull(r.klear),
    internalCenticents: bigOrNull(r.internal),
    differenceCenticents: big(r.difference),
    pnlDifferenceCenticents: bigOrNull(r.pnl_difference),
    feesDifferenceCenticents: bigOrNull(r.fees_difference),
    status: r.status!,
    listing,
    foundByRun: r.found_by_run,
    firstSeenAt: r.first_seen_at,
    closedAt: r.closed_at,
    closedBy: r.closed_by,
    assignee: r.assignee,
    lastComment: r.last_comment,
    resolution: r.resolution,
  };
}

/** Every column arrives as text (rowMode array): no per-row Date or bigint parsing. */
function detailRow(r: unknown[]): SettlementDetailRow {
  const v = r as Array<string | null>;
  return {
    cycleEpochMs: v[0]!,
    subtraderId: v[1]!,
    marketTicker: v[2]!,
    detailId: v[3],
    klearPnl: v[4],
    klearFees: v[5],
    klearTotal: v[6],
    internalPnl: v[7],
    internalFees: v[8],
    internalTotal: v[9],
    totalDifference: v[10]!,
    match: v[11] as DetailMatch,
    assetClass: v[12],
  };
}

function comparison(r: Row) {
  return {
    klearPnl: big(r.k_pnl),
    klearFees: big(r.k_fees),
    klearTotal: big(r.k_total),
    klearMaintenanceMargin: big(r.k_mm),
    internalPnl: big(r.i_pnl),
    internalFees: big(r.i_fees),
    internalTotal: big(r.i_total),
    internalMaintenanceMargin: big(r.i_mm),
  };
}
