import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type pg from 'pg';
import { DataSource, type EntityManager } from 'typeorm';
import { ExportFile } from '@app/db';
import type { SettlementDay } from './settlement-day';
import type {
  BalancePoint,
  BreakCount,
  BreakDayStatus,
  BreakRow,
  BufferMovementRow,
  BufferTotals,
  CycleRow,
  CycleTotals,
  DetailMatch,
  JobHealthRow,
  RunRow,
  SettlementDetailRow,
  SubtraderRow,
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

/**
 * Every SQL statement of the exports capability: what the workbook reads from ingestion, the ledger,
 * reconciliation, withdrawals and jobs, and the export_file rows. Table and column names of the other
 * capabilities appear only here, so a rename there is one edit here.
 */
@Injectable()
export class ExportsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  scopeOf(cycles: CycleRow[], runs: RunRow[]): CycleScope {
    const hwm = new Map(runs.map((r) => [r.cycle.getTime(), r.ledgerHighWaterMark]));
    return {
      cycles: cycles.map((c) => c.executionTime),
      highWaterMarks: cycles.map((c) => hwm.get(c.executionTime.getTime()) ?? NO_HIGH_WATER_MARK),
    };
  }

  async cyclesOf(day: SettlementDay): Promise<CycleRow[]> {
    const rows = (await this.dataSource.query(
      `SELECT id, execution_time, amount_centicents::text AS amount, pnl_centicents::text AS pnl, fees_centicents::text AS fees,
              maintenance_margin_centicents::text AS mm, last_updated_ts
         FROM klear_obligation WHERE execution_time >= $1 AND execution_time < $2 ORDER BY execution_time, id`,
      [day.start, day.end],
    )) as Array<Record<string, string | Date>>;
    return rows.map((r) => ({
      obligationId: r.id as string,
      executionTime: r.execution_time as Date,
      amountCenticents: BigInt(r.amount as string),
      pnlCenticents: BigInt(r.pnl as string),
      feesCenticents: BigInt(r.fees as string),
      maintenanceMarginCenticents: BigInt(r.mm as string),
      lastUpdatedTs: r.last_updated_ts as Date,
    }));
  }

  /** Per cycle, the latest finished (non-projected) reconciliation run. */
  async latestRunsFor(cycles: Date[]): Promise<RunRow[]> {
    if (cycles.length === 0) return [];
    const rows = (await this.dataSource.query(
      `SELECT DISTINCT ON (r.cycle) r.id::text AS id, r.cycle, ${RUN_LEDGER_HIGH_WATER_MARK} AS hwm, r.finished_at
         FROM recon_run r
        WHERE r.scope = 'cycle' AND r.cycle = ANY($1::timestamptz[]) AND r.status = 'succeeded'
        ORDER BY r.cycle, r.id DESC`,
      [cycles],
    )) as Array<{ id: string; cycle: Date; hwm: string | null; finished_at: Date | null }>;
    return rows.map((r) => ({ runId: r.id, cycle: r.cycle, ledgerHighWaterMark: r.hwm, finishedAt: r.finished_at }));
  }

  /** Klear (sum of details) vs ledger per cycle. */
  async cycleTotals(scope: CycleScope): Promise<CycleTotals[]> {
    const rows = (await this.dataSource.query(
      `WITH scope AS (SELECT * FROM unnest($1::timestamptz[], $2::bigint[]) AS s(cycle, hwm)),
       k AS (SELECT o.execution_time AS cycle, sum(d.pnl_centicents) AS pnl, sum(d.fees_centicents) AS fees, sum(d.total_centicents) AS total
               FROM klear_obligation o JOIN klear_settlement_detail d ON d.obligation_id = o.id
              WHERE o.execution_time IN (SELECT cycle FROM scope) GROUP BY 1),
       km AS (SELECT o.execution_time AS cycle, sum(m.maintenance_margin_centicents) AS mm
                FROM klear_obligation o JOIN klear_margin_detail m ON m.obligation_id = o.id
               WHERE o.execution_time IN (SELECT cycle FROM scope) GROUP BY 1),
       i AS (${INTERNAL_SUMS_SQL('p.cycle')})
       SELECT s.cycle, k.pnl::text AS k_pnl, k.fees::text AS k_fees, k.total::text AS k_total, km.mm::text AS k_mm,
              i.pnl::text AS i_pnl, i.fees::text AS i_fees, i.total::text AS i_total, i.mm::text AS i_mm
         FROM scope s LEFT JOIN k ON k.cycle = s.cycle LEFT JOIN km ON km.cycle = s.cycle LEFT JOIN i ON i.cycle = s.cycle
        ORDER BY s.cycle`,
      [scope.cycles, scope.highWaterMarks],
    )) as Array<Row & { cycle: Date }>;
    return rows.map((r) => ({ cycle: r.cycle as unknown as Date, ...comparison(r) }));
  }

  /** One row per subtrader over the day's cycles, with its break counts in the given runs' cycles. */
  async subtraders(scope: CycleScope): Promise<SubtraderRow[]> {
    const rows = (await this.dataSource.query(
      `WITH scope AS (SELECT * FROM unnest($1::timestamptz[], $2::bigint[]) AS s(cycle, hwm)),
       k AS (SELECT d.subtrader_id, sum(d.pnl_centicents) AS pnl, sum(d.fees_centicents) AS fees, sum(d.total_centicents) AS total
               FROM klear_obligation o JOIN klear_settlement_detail d ON d.obligation_id = o.id
              WHERE o.execution_time IN (SELECT cycle FROM scope) GROUP BY 1),
       km AS (SELECT m.subtrader_id, sum(m.maintenance_margin_centicents) AS mm
                FROM klear_obligation o JOIN klear_margin_detail m ON m.obligation_id = o.id
               WHERE o.execution_time IN (SELECT cycle FROM scope) GROUP BY 1),
       i AS (${INTERNAL_SUMS_SQL('p.subtrader_id')} ),
       b AS (SELECT b.subtrader_id, count(*) AS breaks, count(*) FILTER (WHERE b.status IN (${OPEN_STATUSES})) AS open_breaks
               FROM recon_break b WHERE b.cycle IN (SELECT cycle FROM scope) AND b.check <> 'projected' GROUP BY 1),
       ids AS (SELECT subtrader_id FROM k UNION SELECT subtrader_id FROM km UNION SELECT subtrader_id FROM i WHERE subtrader_id IS NOT NULL)
       SELECT ids.subtrader_id, (k.subtrader_id IS NOT NULL OR km.subtrader_id IS NOT NULL) AS in_klear, (i.subtrader_id IS NOT NULL) AS in_ledger,
              k.pnl::text AS k_pnl, k.fees::text AS k_fees, k.total::text AS k_total, km.mm::text AS k_mm,
              i.pnl::text AS i_pnl, i.fees::text AS i_fees, i.total::text AS i_total, i.mm::text AS i_mm,
              coalesce(b.breaks, 0)::int AS breaks, coalesce(b.open_breaks, 0)::int AS open_breaks
         FROM ids LEFT JOIN k USING (subtrader_id) LEFT JOIN km USING (subtrader_id) LEFT JOIN i USING (subtrader_id) LEFT JOIN b USING (subtrader_id)
        ORDER BY ids.subtrader_id`,
      [scope.cycles, scope.highWaterMarks],
    )) as Array<Row & { in_klear: boolean; in_ledger: boolean; breaks: number; open_breaks: number }>;
    return rows.map((r) => ({
      subtraderId: r.subtrader_id as string,
      knownToKlear: r.in_klear,
      knownToLedger: r.in_ledger,
      breakCount: r.breaks,
      openBreakCount: r.open_breaks,
      ...comparison(r),
    }));
  }

  /** The newest balance snapshot pulled at or before `at`. */
  async balanceAt(at: Date): Promise<BalancePoint | null> {
    const rows = (await this.dataSource.query(
      `SELECT pulled_at, available_centicents::text AS available, locked_centicents::text AS locked
         FROM klear_balance_snapshot WHERE pulled_at <= $1 ORDER BY pulled_at DESC, id DESC LIMIT 1`,
      [at],
    )) as Array<{ pulled_at: Date; available: string; locked: string | null }>;
    const r = rows[0];
    return r ? { pulledAt: r.pulled_at, availableCenticents: BigInt(r.available), lockedCenticents: bigOrNull(r.locked) } : null;
  }

  /** Klear's buffer movements of the day vs the ledger's settlement_buffer postings effective that day. */
  async bufferTotals(day: SettlementDay): Promise<BufferTotals> {
    const rows = (await this.dataSource.query(
      `SELECT (SELECT count(*) FROM klear_balance_history WHERE created_ts >= $1 AND created_ts < $2)::int AS k_n,
              (SELECT coalesce(sum(balance_delta_centicents), 0) FROM klear_balance_history WHERE created_ts >= $1 AND created_ts < $2)::text AS k_sum,
              (SELECT count(*) FROM journal_posting p JOIN journal_entry e ON e.ledger_seq = p.entry_seq
                WHERE p.account = 'settlement_buffer' AND e.effective_at >= $1 AND e.effective_at < $2)::int AS i_n,
              (SELECT coalesce(sum(p.amount_centicents), 0) FROM journal_posting p JOIN journal_entry e ON e.ledger_seq = p.entry_seq
                WHERE p.account = 'settlement_buffer' AND e.effective_at >= $1 AND e.effective_at < $2)::text AS i_sum`,
      [day.start, day.end],
    )) as Array<{ k_n: number; k_sum: string; i_n: number; i_sum: string }>;
    const r = rows[0];
    return { klearMovementCount: r.k_n, klearMovementsCenticents: BigInt(r.k_sum), internalMovementCount: r.i_n, internalMovementsCenticents: BigInt(r.i_sum) };
  }

  /** Breaks the day's sheet shows: open ones first seen by the end of the day, and those closed during it. */
  async breaks(day: SettlementDay): Promise<BreakRow[]> {
    const rows = (await this.dataSource.query(
      `WITH b AS (${BREAK_TIMES_SQL})
       SELECT b.id::text AS id, b.break_key AS key, b.check, b.reason_code, b.cycle, b.subtrader_id, b.market_ticker,
              b.klear_value_centicents::text AS klear, b.internal_value_centicents::text AS internal, b.difference_centicents::text AS difference,
              b.status, b.first_seen_at, b.closed_at, b.assignee,
              (SELECT c.body FROM recon_break_comment c WHERE c.break_id = b.id ORDER BY c.created_at DESC, c.id DESC LIMIT 1) AS last_comment,
              CASE WHEN b.closed_at >= $1 AND b.closed_at < $2 THEN 'closed'
                   WHEN b.first_seen_at >= $1 THEN 'new' ELSE 'carried_over' END AS day_status
         FROM b
        WHERE b.first_seen_at < $2 AND b.check <> 'projected'
          AND (b.status IN (${OPEN_STATUSES}) OR (b.closed_at >= $1 AND b.closed_at < $2))
        ORDER BY b.check, b.break_key, b.id`,
      [day.start, day.end],
    )) as Array<Row & { cycle: Date | null; first_seen_at: Date; closed_at: Date | null }>;
    return rows.map((r) => ({
      breakId: r.id as string,
      key: r.key as string,
      check: r.check as string,
      reasonCode: r.reason_code as string,
      cycle: r.cycle,
      subtraderId: r.subtrader_id,
      marketTicker: r.market_ticker,
      klearCenticents: bigOrNull(r.klear),
      internalCenticents: bigOrNull(r.internal),
      differenceCenticents: big(r.difference),
      status: r.status as string,
      dayStatus: r.day_status as BreakDayStatus,
      firstSeenAt: r.first_seen_at,
      closedAt: r.closed_at,
      assignee: r.assignee,
      lastComment: r.last_comment,
    }));
  }

  /** The Summary's break table, from the same rows as the Breaks sheet (so the two always agree). */
  countBreaks(breaks: BreakRow[]): BreakCount[] {
    const counts = new Map<string, BreakCount>();
    for (const b of breaks) {
      const k = `${b.check}\u0000${b.dayStatus}`;
      const c = counts.get(k) ?? { check: b.check, dayStatus: b.dayStatus, count: 0, differenceCenticents: 0n };
      c.count += 1;
      c.differenceCenticents += b.differenceCenticents;
      counts.set(k, c);
    }
    return [...counts.values()].sort((a, b) => a.check.localeCompare(b.check) || a.dayStatus.localeCompare(b.dayStatus));
  }

  async withdrawalTotals(day: SettlementDay): Promise<WithdrawalDayTotal[]> {
    const rows = (await this.dataSource.query(
      `SELECT state, count(*)::int AS n, sum(amount_centicents)::text AS amount FROM withdrawal_request
        WHERE created_at >= $1 AND created_at < $2 GROUP BY state ORDER BY state`,
      [day.start, day.end],
    )) as Array<{ state: string; n: number; amount: string }>;
    return rows.map((r) => ({ state: r.state, count: r.n, amountCenticents: BigInt(r.amount) }));
  }

  async jobHealth(): Promise<JobHealthRow[]> {
    const rows = (await this.dataSource.query(
      `SELECT job, max(finished_at) FILTER (WHERE status = 'succeeded') AS last_success,
              (array_agg(status ORDER BY started_at DESC, id DESC))[1] AS last_status, max(started_at) AS last_run
         FROM job_run WHERE status <> 'skipped' GROUP BY job ORDER BY job`,
    )) as Array<{ job: string; last_success: Date | null; last_status: string | null; last_run: Date | null }>;
    return rows.map((r) => ({ job: r.job, lastSuccessAt: r.last_success, lastRunStatus: r.last_status, lastRunAt: r.last_run }));
  }

  /**
   * Every Klear settlement detail of the scope's cycles beside the ledger's figures for the same
   * (cycle, subtrader, market), plus ledger-only markets; streamed in FETCH batches through a
   * server-side cursor so a 1,000,000-row day never sits in memory. The next batch is fetched while
   * the caller writes the current one.
   */
  async *settlementDetails(scope: CycleScope, fetchSize = DETAIL_FETCH_SIZE): AsyncGenerator<SettlementDetailRow[]> {
    const runner = this.dataSource.createQueryRunner();
    const client = (await runner.connect()) as pg.PoolClient;
    const fetch = () => client.query<unknown[]>({ text: `FETCH ${fetchSize} FROM settlement_details`, rowMode: 'array' });
    let pending: ReturnType<typeof fetch> | undefined;
    let committed = false;
    try {
      await client.query('BEGIN READ ONLY');
      // The whole result is read: plan for all rows (hash joins), not the first 10%.
      await client.query('SET LOCAL cursor_tuple_fraction = 1');
      await client.query({ text: `DECLARE settlement_details NO SCROLL CURSOR FOR ${SETTLEMENT_DETAILS_SQL}`, values: [scope.cycles, scope.highWaterMarks] });
      pending = fetch();
      for (;;) {
        const result = await pending;
        pending = undefined;
        if (result.rows.length === 0) break;
        pending = fetch();
        yield result.rows.map(detailRow);
      }
      await client.query('COMMIT');
      committed = true;
    } finally {
      // An early return (caller stopped) or an error leaves a fetch in flight and the transaction open.
      await pending?.catch(() => undefined);
      if (!committed) await client.query('ROLLBACK').catch(() => undefined);
      await runner.release();
    }
  }

  /** The day's Klear buffer movements with the ledger movement of the same reference, and ledger-only movements. */
  async bufferMovements(day: SettlementDay): Promise<BufferMovementRow[]> {
    const rows = (await this.dataSource.query(
      `WITH k AS (SELECT * FROM klear_balance_history WHERE created_ts >= $1 AND created_ts < $2),
       i AS (SELECT e.external_id, e.effective_at, e.description, e.business_reference, sum(p.amount_centicents) AS amount
               FROM journal_entry e JOIN journal_posting p ON p.entry_seq = e.ledger_seq AND p.account = 'settlement_buffer'
              WHERE e.effective_at >= $1 AND e.effective_at < $2 GROUP BY e.ledger_seq),
       m AS (SELECT k.id AS k_id, k.created_ts, k.business_transaction_id, k.reason, k.balance_delta_centicents, k.locked_balance_delta_centicents,
                    i.external_id, i.effective_at, i.description, i.amount
               FROM k FULL JOIN i ON i.business_reference = k.business_transaction_id)
       SELECT m.created_ts, m.business_transaction_id, m.reason, m.balance_delta_centicents::text AS k_delta,
              m.locked_balance_delta_centicents::text AS k_locked, m.external_id, m.effective_at, m.description, m.amount::text AS i_amount,
              b.key AS break_key, b.reason_code AS break_reason, b.status AS break_status
         FROM m LEFT JOIN LATERAL (
                SELECT break_key AS key, reason_code, status FROM recon_break b
                 WHERE b.break_key IN ('settlement_buffer/' || m.business_transaction_id, 'settlement_buffer/internal/' || m.external_id)
                 ORDER BY b.id DESC LIMIT 1) b ON true
        ORDER BY coalesce(m.created_ts, m.effective_at), m.business_transaction_id, m.external_id`,
      [day.start, day.end],
    )) as Array<Row & { created_ts: Date | null; effective_at: Date | null }>;
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

  /** Requests made or moved during the day, with approvals and state history flattened for a sheet. */
  async withdrawals(day: SettlementDay): Promise<WithdrawalRow[]> {
    const rows = (await this.dataSource.query(
      `SELECT w.id::text AS id, w.created_at, w.requester_name, w.amount_centicents::text AS amount, w.purpose, w.state,
              w.klear_withdrawal_id, w.klear_status, w.submitted_at,
              coalesce((SELECT string_agg(a.decision || ' by ' || a.approver_name || ' at ' || to_char(a.decided_at AT TIME ZONE 'America/New_York', 'YYYY-MM-DD HH24:MI:SS') || ' ET',
                                          '; ' ORDER BY a.decided_at, a.id) FROM withdrawal_approval a WHERE a.request_id = w.id), '') AS approvals,
              coalesce((SELECT string_agg(coalesce(s.from_state, '(new)') || ' -> ' || s.to_state || ' by ' || s.actor || ' at '
                                          || to_char(s.at AT TIME ZONE 'America/New_York', 'YYYY-MM-DD HH24:MI:SS') || ' ET', '; ' ORDER BY s.at, s.id)
                          FROM withdrawal_state_change s WHERE s.request_id = w.id), '') AS history
         FROM withdrawal_request w
        WHERE (w.created_at >= $1 AND w.created_at < $2)
           OR EXISTS (SELECT 1 FROM withdrawal_state_change s WHERE s.request_id = w.id AND s.at >= $1 AND s.at < $2)
        ORDER BY w.created_at, w.id`,
      [day.start, day.end],
    )) as Array<Row & { created_at: Date; submitted_at: Date | null }>;
    return rows.map((r) => ({
      requestId: r.id as string,
      createdAt: r.created_at,
      requesterName: r.requester_name as string,
      amountCenticents: BigInt(r.amount as string),
      purpose: r.purpose as string,
      state: r.state as string,
      approvals: r.approvals as string,
      klearWithdrawalId: r.klear_withdrawal_id,
      klearStatus: r.klear_status,
      submittedAt: r.submitted_at,
      history: r.history as string,
    }));
  }

  // --- export_file -------------------------------------------------------------------------------

  /**
   * Runs `work` with the day's export lock held and the next version number: concurrent builds of one
   * day get distinct versions, and the row commits only if `work` (moving the file into place) succeeds.
   */
  async withNextVersion<T>(date: string, work: (version: number, manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext('export_file:' || $1))`, [date]);
      const rows = (await manager.query(`SELECT coalesce(max(version), 0)::int AS v FROM export_file WHERE settlement_date = $1`, [date])) as Array<{ v: number }>;
      return work(rows[0].v + 1, manager);
    });
  }

  async insert(manager: EntityManager, file: Omit<ExportFile, 'id' | 'createdAt'>): Promise<ExportFile> {
    return manager.getRepository(ExportFile).save(manager.getRepository(ExportFile).create(file));
  }

  /** Newest first: by day, then version. */
  async list(limit: number, after?: { date: string; version: number }): Promise<ExportFile[]> {
    const qb = this.dataSource.getRepository(ExportFile).createQueryBuilder('f').orderBy('f.settlementDate', 'DESC').addOrderBy('f.version', 'DESC').limit(limit);
    if (after) qb.where('(f.settlement_date, f.version) < (CAST(:date AS date), CAST(:version AS integer))', after);
    return qb.getMany();
  }

  async find(id: string): Promise<ExportFile | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    return this.dataSource.getRepository(ExportFile).findOneBy({ id });
  }

  /** ET days (oldest first) since `from` whose cycles all have a finished run and that have no workbook yet. */
  async reconciledDaysWithoutWorkbook(from: Date, until: Date): Promise<string[]> {
    const rows = (await this.dataSource.query(
      `WITH days AS (
         SELECT (o.execution_time AT TIME ZONE 'America/New_York')::date AS day,
                bool_and(EXISTS (SELECT 1 FROM recon_run r WHERE r.scope = 'cycle' AND r.cycle = o.execution_time AND r.status = 'succeeded')) AS reconciled
           FROM klear_obligation o WHERE o.execution_time >= $1 AND o.execution_time < $2 GROUP BY 1)
       SELECT to_char(d.day, 'YYYY-MM-DD') AS day FROM days d
        WHERE d.reconciled AND NOT EXISTS (SELECT 1 FROM export_file f WHERE f.settlement_date = d.day)
        ORDER BY d.day`,
      [from, until],
    )) as Array<{ day: string }>;
    return rows.map((r) => r.day);
  }
}

/** Break statuses still being worked (not closed by a run, not resolved). */
const OPEN_STATUSES = `'open', 'acknowledged', 'pending_write_off'`;

/** The run's ledger bound (journal_entry.ledger_seq it read up to), from its recorded inputs. */
const RUN_LEDGER_HIGH_WATER_MARK = `r.inputs->>'ledger_seq'`;

/**
 * Breaks with when they were first seen (the row's creation by the run that found them) and when they
 * stopped being open: the closing run's end, or the resolution time.
 */
const BREAK_TIMES_SQL = `
  SELECT b.*, b.created_at AS first_seen_at,
         CASE WHEN b.status = 'closed' THEN coalesce(cr.finished_at, b.updated_at)
              WHEN b.status = 'resolved' THEN coalesce(b.resolved_at, b.updated_at) END AS closed_at
    FROM recon_break b LEFT JOIN recon_run cr ON cr.id = b.closed_by_run`;

/** Ledger figures per `groupBy` over the scope's cycles, bounded per cycle by the run's high-water mark. */
const INTERNAL_SUMS_SQL = (groupBy: string) => `
  SELECT ${groupBy} AS ${groupBy.split('.')[1]},
         coalesce(sum(p.amount_centicents) FILTER (WHERE p.account = 'trading_pnl'), 0) AS pnl,
         -coalesce(sum(p.amount_centicents) FILTER (WHERE p.account = 'trading_fees'), 0) AS fees,
         coalesce(sum(p.amount_centicents) FILTER (WHERE p.account IN ('trading_pnl', 'trading_fees')), 0) AS total,
         coalesce(sum(p.amount_centicents) FILTER (WHERE p.account = 'maintenance_margin'), 0) AS mm
    FROM journal_posting p JOIN scope s ON s.cycle = p.cycle AND p.entry_seq <= s.hwm
   WHERE p.account IN ('trading_pnl', 'trading_fees', 'maintenance_margin')
   GROUP BY 1`;

/** Detail rows (Klear) full-joined with the ledger's per-market figures; ordered so the sheet reads cycle by cycle. */
const SETTLEMENT_DETAILS_SQL = `
  WITH scope AS (SELECT * FROM unnest($1::timestamptz[], $2::bigint[]) AS s(cycle, hwm)),
  k AS (SELECT o.execution_time AS cycle, d.subtrader_id, d.market_ticker, d.id, d.pnl_centicents, d.fees_centicents, d.total_centicents
          FROM klear_obligation o JOIN klear_settlement_detail d ON d.obligation_id = o.id
         WHERE o.execution_time IN (SELECT cycle FROM scope)),
  i AS (SELECT p.cycle, p.subtrader_id, p.market_ticker,
               coalesce(sum(p.amount_centicents) FILTER (WHERE p.account = 'trading_pnl'), 0) AS pnl,
               -coalesce(sum(p.amount_centicents) FILTER (WHERE p.account = 'trading_fees'), 0) AS fees,
               sum(p.amount_centicents) AS total
          FROM journal_posting p JOIN scope s ON s.cycle = p.cycle AND p.entry_seq <= s.hwm
         WHERE p.account IN ('trading_pnl', 'trading_fees')
         GROUP BY 1, 2, 3)
  SELECT (extract(epoch FROM coalesce(k.cycle, i.cycle)) * 1000)::bigint::text, coalesce(k.subtrader_id, i.subtrader_id), coalesce(k.market_ticker, i.market_ticker), k.id,
         k.pnl_centicents::text, k.fees_centicents::text, k.total_centicents::text, i.pnl::text, i.fees::text, i.total::text,
         (coalesce(k.total_centicents, 0) - coalesce(i.total, 0))::text,
         CASE WHEN k.id IS NULL THEN 'missing_klear' WHEN i.total IS NULL THEN 'missing_internal'
              WHEN k.pnl_centicents = i.pnl AND k.fees_centicents = i.fees THEN 'matched' ELSE 'mismatch' END
    FROM k FULL JOIN i ON i.cycle = k.cycle AND i.subtrader_id = k.subtrader_id AND i.market_ticker = k.market_ticker
   ORDER BY coalesce(k.cycle, i.cycle), 2, 3, 4`;

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
