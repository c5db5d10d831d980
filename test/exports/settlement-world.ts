import { join } from 'node:path';
import { AuditService } from '@app/audit';
import { ManualClock } from '@app/clock';
import type { AppConfig } from '@app/config';
import type { ExportFile } from '@app/db';
import { ExportFileRepository, ExportsService, WorkbookBuilder, WorkbookReadRepository } from '@app/exports';
import { refreshLatestFigures } from '@app/ingestion';
import { LedgerRepository } from '@app/ledger';
import { BreakRepository, BreakWorkflowService, ReconciliationRunRepository } from '@app/reconciliation';
import type { TestDatabase } from '@app/testing';
import type ExcelJS from 'exceljs';
import { DateTime } from 'luxon';
import type { EntityManager } from 'typeorm';
import { readWorkbook } from './workbook-reader';

/** An instant given as an America/New_York wall-clock time: `et('2026-03-16 17:30')`. */
export function et(text: string): Date {
  const at = DateTime.fromFormat(text, 'yyyy-MM-dd HH:mm', { zone: 'America/New_York' });
  if (!at.isValid) throw new Error(`not an ET time: ${text}`);
  return at.toJSDate();
}

export type Detail = [subtrader: string, market: string, pnl: bigint, fees: bigint];
export type Margin = [subtrader: string, requirement: bigint, delta: bigint];
export type Posting = [account: string, market: string | null, amount: bigint];

/** A trade_settlement's postings: per market pnl and -fees, balanced against klear_settlement. */
export function settlementPostings(markets: Array<[market: string, pnl: bigint, fees: bigint]>): Posting[] {
  const postings: Posting[] = [];
  let balance = 0n;
  for (const [market, pnl, fees] of markets) {
    postings.push(['trading_pnl', market, pnl], ['trading_fees', market, -fees]);
    balance -= pnl - fees;
  }
  postings.push(['klear_settlement', null, balance]);
  return postings;
}

export interface JournalEntryRow {
  id: string;
  type: string;
  at: Date | string;
  cycle?: Date | string;
  subtrader?: string;
  reference?: string;
  description?: string;
  postings: Posting[];
}

/** One journal entry and its postings as the ledger writes them (in the caller's transaction); answers its ledger_seq. */
export async function postJournalEntry(m: EntityManager, e: JournalEntryRow): Promise<string> {
  const [{ seq }] = (await m.query(
    `INSERT INTO journal_entry (external_id, entry_type, effective_at, cycle, subtrader_id, business_reference, description, content_hash, created_by, posting_count)
     VALUES ($1, $2, $3, $4, $5, $6, $7, md5($1), 'factory', $8) RETURNING ledger_seq::text AS seq`,
    [e.id, e.type, e.at, e.cycle ?? null, e.subtrader ?? null, e.reference ?? null, e.description ?? null, e.postings.length],
  )) as Array<{ seq: string }>;
  for (const [i, [account, market, amount]] of e.postings.entries()) {
    await m.query(
      `INSERT INTO journal_posting (entry_seq, line_no, account, market_ticker, amount_centicents, cycle, subtrader_id, cycle_key) VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $7, coalesce($6::timestamptz, '-infinity'))`,
      [seq, i + 1, account, market, amount.toString(), e.cycle ?? null, e.subtrader ?? null],
    );
  }
  return seq;
}

export interface BuiltDay {
  file: ExportFile;
  path: string;
  workbook: ExcelJS.Workbook;
}

/**
 * A settlement world written the way the product's writers leave it: Klear's obligations, details and
 * balance history as ingestion stores them, ledger entries as the ledger books them (the summary
 * triggers fire), reconciliation through the real run repository, breaks worked through the real
 * workflow service, workbooks through the real export service on a manual clock.
 *
 * Runs and break changes are stamped by PostgreSQL's clock; `at` moves those stamps to the story's
 * instant afterwards, so that a run "on the evening of the day" or "three days later" is what the
 * workbook sees, whatever day the suite runs on.
 */
export class SettlementWorld {
  readonly clock: ManualClock;
  readonly exports: ExportsService;
  private readonly runs: ReconciliationRunRepository;
  private readonly workflow: BreakWorkflowService;
  private readonly operator = { userId: '00000000-0000-4000-8000-000000000001', name: 'olivia' };

  constructor(
    private readonly db: TestDatabase,
    private readonly config: AppConfig,
    start: Date,
  ) {
    const ds = db.dataSource;
    this.clock = new ManualClock(start);
    const audit = new AuditService(ds, null, this.clock);
    this.exports = new ExportsService(
      new ExportFileRepository(ds),
      new WorkbookBuilder(new WorkbookReadRepository(ds)),
      audit,
      config,
      this.clock,
    );
    this.runs = new ReconciliationRunRepository(ds, audit, this.clock);
    this.workflow = new BreakWorkflowService(new BreakRepository(ds, audit), new LedgerRepository(ds), this.clock);
  }

  query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.db.dataSource.query(sql, params) as Promise<T[]>;
  }

  /** A Klear obligation with its details; its amount follows Klear's own convention unless `amountError` is given. */
  async obligation(id: string, cycle: Date, details: Detail[], margins: Margin[], amountError = 0n): Promise<void> {
    const pnl = details.reduce((s, d) => s + d[2], 0n);
    const fees = details.reduce((s, d) => s + d[3], 0n);
    const mm = margins.reduce((s, m) => s + m[1], 0n);
    const delta = margins.reduce((s, m) => s + m[2], 0n);
    await this.db.dataSource.transaction(async (m) => {
      await m.query(
        `INSERT INTO klear_obligation (id, user_id, amount_centicents, fees_centicents, maintenance_margin_centicents, pnl_centicents, execution_time, last_updated_ts,
                                       content_sha256, settlement_detail_count, first_pulled_at, pulled_at, archive_id)
         VALUES ($1, 'scm', $2, $3, $4, $5, $6, $6, md5($1), $7, $6, $6, 1)`,
        [id, (pnl - fees - delta + amountError).toString(), fees.toString(), mm.toString(), pnl.toString(), cycle, details.length],
      );
      for (const [i, [subtrader, market, p, f]] of details.entries()) {
        await m.query(
          `INSERT INTO klear_settlement_detail (obligation_id, id, market_ticker, subtrader_id, pnl_centicents, fees_centicents, total_centicents, cycle) VALUES ($1, $2, $3, $4, $5, $6, $7, (SELECT execution_time FROM klear_obligation WHERE id = $1))`,
          [id, `${id}-d${i}`, market, subtrader, p.toString(), f.toString(), (p - f).toString()],
        );
      }
      for (const [i, [subtrader, requirement, d]] of margins.entries()) {
        await m.query(
          `INSERT INTO klear_margin_detail (obligation_id, id, subtrader_id, maintenance_margin_centicents, maintenance_margin_delta_centicents, cycle) VALUES ($1, $2, $3, $4, $5, (SELECT execution_time FROM klear_obligation WHERE id = $1))`,
          [id, `${id}-m${i}`, subtrader, requirement.toString(), d.toString()],
        );
      }
      // As ingestion leaves it (upsertObligation): the latest cycle's figures of GET /subtraders.
      await refreshLatestFigures(m, null);
    });
  }

  /** A movement of Klear's balance history. */
  async klearMovement(
    businessTransactionId: string,
    at: Date,
    delta: bigint,
    lockedDelta = 0n,
    reason = 'settlement_payment',
  ): Promise<void> {
    await this.query(
      `INSERT INTO klear_balance_history (business_transaction_id, created_ts, balance_delta_centicents, locked_balance_delta_centicents, reason, first_pulled_at, archive_id)
       VALUES ($1, $2, $3, $4, $5, $2, 1)`,
      [businessTransactionId, at, delta.toString(), lockedDelta.toString(), reason],
    );
  }

  private async entry(e: JournalEntryRow): Promise<void> {
    await this.db.dataSource.transaction(async (m: EntityManager) => {
      if (e.subtrader)
        await m.query(`INSERT INTO subtrader (subtrader_id, first_seen_in_ledger_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
          e.subtrader,
          e.at,
        ]);
      await postJournalEntry(m, e);
    });
  }

  /** A cycle's ledger: one trade_settlement per subtrader and one margin_requirement per subtrader with a requirement. */
  async ledgerCycle(
    cycle: Date,
    trades: Record<string, Array<[market: string, pnl: bigint, fees: bigint]>>,
    margins: Record<string, bigint>,
  ): Promise<void> {
    const tag = cycle.toISOString();
    for (const [subtrader, markets] of Object.entries(trades))
      await this.tradeSettlement(`ts-${tag}-${subtrader}`, cycle, subtrader, markets);
    for (const [subtrader, requirement] of Object.entries(margins))
      await this.marginRequirement(`mm-${tag}-${subtrader}`, cycle, subtrader, requirement);
  }

  /** The ledger's trade_settlement of one subtrader and cycle: per market pnl and -fees, balanced against klear_settlement. */
  async tradeSettlement(
    id: string,
    cycle: Date,
    subtrader: string,
    markets: Array<[market: string, pnl: bigint, fees: bigint]>,
  ): Promise<void> {
    await this.entry({ id, type: 'trade_settlement', at: cycle, cycle, subtrader, postings: settlementPostings(markets) });
  }

  async marginRequirement(id: string, cycle: Date, subtrader: string, requirement: bigint): Promise<void> {
    await this.entry({
      id,
      type: 'margin_requirement',
      at: cycle,
      cycle,
      subtrader,
      postings: [
        ['maintenance_margin', null, requirement],
        ['maintenance_margin_contra', null, -requirement],
      ],
    });
  }

  /** A correction of one market's pnl for a (cycle, subtrader), booked as an adjustment. */
  async pnlAdjustment(id: string, cycle: Date, subtrader: string, market: string, pnl: bigint, at: Date): Promise<void> {
    await this.entry({
      id,
      type: 'adjustment',
      at,
      cycle,
      subtrader,
      postings: [
        ['trading_pnl', market, pnl],
        ['klear_settlement', null, -pnl],
      ],
    });
  }

  /** A cash movement of the settlement buffer in the ledger (against Klear settlement, or the bank for deposits and withdrawals). */
  async bufferMovement(
    id: string,
    at: Date,
    reference: string,
    amount: bigint,
    against: 'bank' | 'klear_settlement' = 'klear_settlement',
  ): Promise<void> {
    await this.entry({
      id,
      type: 'buffer_movement',
      at,
      reference,
      postings: [
        ['settlement_buffer', null, amount],
        [against, null, -amount],
      ],
    });
  }

  /** A withdrawal request made at `at`, approved and submitted to Klear ten minutes later (rows as the withdrawal service writes them). */
  async submittedWithdrawal(amount: bigint, at: Date, klearId: string): Promise<string> {
    const minutes = (n: number) => new Date(at.getTime() + n * 60_000);
    const [{ id: userId }] = await this.query<{ id: string }>(
      `INSERT INTO app_user (name, roles) VALUES ('world-requester', '{operator}') RETURNING id`,
    );
    const [{ id: approverId }] = await this.query<{ id: string }>(
      `INSERT INTO app_user (name, roles) VALUES ('world-approver', '{approver}') RETURNING id`,
    );
    const [{ id }] = await this.query<{ id: string }>(
      `INSERT INTO withdrawal_request (amount_centicents, purpose, requester_id, requester_name, idempotency_key, request_hash, state, policy_version, policy_snapshot,
                                       approvals_required, roles_required, expires_at, headroom_at_request, klear_withdrawal_id, submitted_at, klear_status, created_at, updated_at, version)
       VALUES ($1, 'sweep to the operating account', $2, 'world-requester', $3, 'h', 'submitted', 1, '{}', 1, '{approver}', $4, '{}', $5, $6, 'pending', $7, $6, 1) RETURNING id`,
      [amount.toString(), userId, `k-${klearId}`, minutes(24 * 60), klearId, minutes(10), at],
    );
    await this.query(
      `INSERT INTO withdrawal_approval (request_id, round, approver_id, approver_name, approver_roles, decision, decided_at) VALUES ($1, 1, $2, 'world-approver', '{approver}', 'approve', $3)`,
      [id, approverId, minutes(5)],
    );
    for (const [i, [from, to, t]] of (
      [
        [null, 'pending_approval', 0],
        ['pending_approval', 'approved', 5],
        ['approved', 'submitting', 9],
        ['submitting', 'submitted', 10],
      ] as const
    ).entries()) {
      await this.query(
        `INSERT INTO withdrawal_state_change (request_id, from_state, to_state, actor, at, audit_seq) VALUES ($1, $2, $3, 'world', $4, $5)`,
        [id, from, to, minutes(t), 1000 + i],
      );
    }
    return id;
  }

  /** Reconciles a cycle with the real run repository, as if the run had finished at `at`. */
  async reconcile(cycle: Date, at: Date): Promise<string> {
    const outcome = await this.runs.run(
      { scope: 'cycle', cycle, actor: 'world', settings: this.config.reconciliation },
      () => new Error(`no obligation at ${cycle.toISOString()}`),
    );
    await this.query(`UPDATE recon_run SET started_at = $2::timestamptz - interval '1 minute', finished_at = $2 WHERE id = $1`, [
      outcome.runId,
      at,
    ]);
    await this.query(`UPDATE recon_break SET created_at = $2 WHERE first_seen_run = $1`, [outcome.runId, at]);
    await this.query(`UPDATE recon_break SET updated_at = $2 WHERE last_seen_run = $1 OR closed_by_run = $1`, [outcome.runId, at]);
    return outcome.runId;
  }

  async breakId(key: string): Promise<string> {
    const rows = await this.query<{ id: string }>(`SELECT id::text FROM recon_break WHERE break_key = $1`, [key]);
    if (rows.length !== 1) throw new Error(`${rows.length} breaks with key ${key}`);
    return rows[0].id;
  }

  async acknowledge(breakId: string, at: Date): Promise<void> {
    await this.workflow.acknowledge(breakId, this.operator);
    await this.query(`UPDATE recon_break SET updated_at = $2 WHERE id = $1`, [breakId, at]);
  }

  async resolve(breakId: string, at: Date): Promise<void> {
    await this.workflow.resolve(breakId, { reason: 'timing', note: 'settles tomorrow' }, this.operator);
    await this.query(`UPDATE recon_break SET resolved_at = $2, updated_at = $2 WHERE id = $1`, [breakId, at]);
  }

  /** Builds the day's workbook through the export service with the clock at `at`, and reads the file back. */
  async build(date: string, at: Date, by = 'olivia'): Promise<BuiltDay> {
    this.clock.set(at);
    const file = await this.exports.build(date, by);
    const path = join(this.exports.directory, file.filePath);
    return { file, path, workbook: await readWorkbook(path) };
  }
}
