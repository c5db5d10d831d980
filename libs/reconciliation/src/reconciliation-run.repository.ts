import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditService } from '@app/audit';
import { DataSource, type EntityManager } from 'typeorm';
import { ExplainabilityViolated } from './reconciliation-errors';
import { cycleKeyText, cycleScopeKey, inputsSha256, PROJECTED_SCOPE_KEY, type ReconSettings, tolerancesJson } from './recon-inputs';
import { BUFFER_BALANCES_SQL, BUFFER_MOVEMENTS_SQL } from './sql/buffer-checks.sql';
import { CLOSE_UNSEEN_BREAKS_SQL, INSERT_OBSERVATIONS_SQL, PREVIOUSLY_INACTIVE_SQL, UPSERT_BREAKS_SQL } from './sql/break-lifecycle.sql';
import { CREATE_FOUND_TABLE_SQL, CREATE_SETTLEMENT_SUBTRADER_TABLE_SQL, FOUND_SUMMARY_SQL } from './sql/found-table.sql';
import { PROJECTED_SQL } from './sql/projected-check.sql';
import {
  KLEAR_CONSISTENCY_SQL,
  MAINTENANCE_MARGIN_REASONS_SQL,
  MAINTENANCE_MARGIN_SQL,
  SETTLEMENT_DETAILS_REASONS_SQL,
  SETTLEMENT_DETAILS_SQL,
  SETTLEMENT_EXPLAINABILITY_SQL,
  SETTLEMENT_SUBTRADERS_SQL,
} from './sql/settlement-checks.sql';

export interface RunRequest {
  scope: 'cycle' | 'projected';
  cycle?: Date;
  actor: string;
  settings: ReconSettings;
}

export interface RunOutcome {
  runId: string;
  inputsSha256: string;
  breakCount: number;
  opened: number;
  reopened: string[];
  closed: string[];
}

interface PreparedRun {
  scopeKey: string;
  inputs: Record<string, unknown>;
  sha: string;
  execute(tx: EntityManager, runId: string): Promise<Record<string, unknown>>;
}

/** Serialises runs of one scope: two concurrent runs must not open or close each other's breaks. */
const SCOPE_LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtextextended('reconciliation:' || $1, 0))`;

/**
 * Runs one reconciliation in one REPEATABLE READ transaction: fixes the inputs (high-water
 * marks, obligation versions, estimate snapshot), computes every check set-based in SQL into a
 * temporary table, asserts explainability, then turns the findings into breaks. A failed run is
 * recorded as failed, with its inputs, and keeps nothing else.
 */
@Injectable()
export class ReconciliationRunRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  async run(request: RunRequest, onMissingInputs: () => Error): Promise<RunOutcome> {
    let prepared: PreparedRun | undefined;
    try {
      return await this.dataSource.transaction('REPEATABLE READ', async (tx) => {
        const scopeKey = request.scope === 'cycle' ? cycleScopeKey(request.cycle!) : PROJECTED_SCOPE_KEY;
        await tx.query(SCOPE_LOCK_SQL, [scopeKey]);
        await tx.query(`SET LOCAL work_mem = '128MB'`);
        // The statements here are short; JIT compilation would cost more than it saves.
        await tx.query(`SET LOCAL jit = off`);
        prepared = request.scope === 'cycle' ? await this.prepareCycle(tx, request.cycle!, request.settings) : await this.prepareProjected(tx, request.settings);
        if (!prepared) throw onMissingInputs();
        const [run] = (await tx.query(
          `INSERT INTO recon_run (scope, scope_key, cycle, inputs, inputs_sha256, status, started_at, created_by)
           VALUES ($1, $2, $3, $4, $5, 'running', clock_timestamp(), $6) RETURNING id::text`,
          [request.scope, prepared.scopeKey, request.cycle ?? null, prepared.inputs, prepared.sha, request.actor],
        )) as Array<{ id: string }>;
        await tx.query(CREATE_FOUND_TABLE_SQL);
        const totals = await prepared.execute(tx, run.id);
        const summary = { ...(await this.summarise(tx)), ...totals };
        const outcome = await this.applyFindings(tx, run.id, prepared.scopeKey, request.cycle ?? null);
        await tx.query(
          `UPDATE recon_run SET status = 'succeeded', finished_at = clock_timestamp(), break_count = $2, summary = $3 WHERE id = $1`,
          [run.id, outcome.breakCount, summary],
        );
        await this.audit.record(
          {
            actor: request.actor,
            action: 'reconciliation.run',
            entityType: 'recon_run',
            entityId: run.id,
            toState: 'succeeded',
            details: { scope: prepared.scopeKey, inputs_sha256: prepared.sha, breaks: outcome.breakCount, opened: outcome.opened, reopened: outcome.reopened, closed: outcome.closed },
          },
          tx,
        );
        return { runId: run.id, inputsSha256: prepared.sha, ...outcome };
      });
    } catch (error) {
      if (prepared) await this.recordFailure(request, prepared, error);
      throw error;
    }
  }

  /** The inputs fingerprint a run would have now (undefined when its Klear inputs are not ingested). */
  async currentInputsSha(request: Omit<RunRequest, 'actor'>): Promise<string | undefined> {
    return this.dataSource.transaction('REPEATABLE READ', async (tx) => {
      const prepared = request.scope === 'cycle' ? await this.prepareCycle(tx, request.cycle!, request.settings) : await this.prepareProjected(tx, request.settings);
      return prepared?.sha;
    });
  }

  private async recordFailure(request: RunRequest, prepared: PreparedRun, error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    await this.dataSource.transaction(async (tx) => {
      const [run] = (await tx.query(
        `INSERT INTO recon_run (scope, scope_key, cycle, inputs, inputs_sha256, status, started_at, finished_at, error, created_by)
         VALUES ($1, $2, $3, $4, $5, 'failed', clock_timestamp(), clock_timestamp(), $6, $7) RETURNING id::text`,
        [request.scope, prepared.scopeKey, request.cycle ?? null, prepared.inputs, prepared.sha, message, request.actor],
      )) as Array<{ id: string }>;
      await this.audit.record({ actor: request.actor, action: 'reconciliation.run', entityType: 'recon_run', entityId: run.id, toState: 'failed', reason: message.slice(0, 500) }, tx);
    });
  }

  private async prepareCycle(tx: EntityManager, cycle: Date, settings: ReconSettings): Promise<PreparedRun | undefined> {
    const obligations = (await tx.query(
      `SELECT id, last_updated_ts, content_sha256 FROM klear_obligation WHERE execution_time = $1 ORDER BY id`,
      [cycle],
    )) as Array<{ id: string; last_updated_ts: Date; content_sha256: string }>;
    if (obligations.length === 0) return undefined;
    const [marks] = (await tx.query(
      `WITH day AS (SELECT ((($1::timestamptz AT TIME ZONE 'America/New_York')::date + 1)::timestamp AT TIME ZONE 'America/New_York') AS day_end)
       SELECT (SELECT coalesce(max(ledger_seq), 0) FROM journal_entry)::text AS ledger_seq,
              (SELECT coalesce(max(id), 0) FROM klear_balance_history)::text AS balance_history_id,
              (SELECT coalesce(max(id), 0) FROM withdrawal_state_change)::text AS withdrawal_state_change_id,
              (SELECT coalesce(max(ledger_seq), 0) FROM journal_entry WHERE cycle = $1)::text AS cycle_ledger_seq,
              (SELECT coalesce(max(ledger_seq), 0) FROM journal_entry, day WHERE cycle IS NULL AND effective_at < day.day_end)::text AS uncycled_ledger_seq,
              (SELECT coalesce(max(id), 0) FROM klear_balance_history, day WHERE created_ts < day.day_end)::text AS day_balance_history_id,
              (SELECT coalesce(max(id), 0) FROM withdrawal_state_change, day WHERE at < day.day_end)::text AS day_withdrawal_state_change_id`,
      [cycle],
    )) as Array<Record<string, string>>;
    const keyText = cycleKeyText(cycle);
    const ids = obligations.map((o) => o.id);
    const t = settings.tolerances;
    const windowSeconds = settings.bufferMatchWindowHours * 3600;
    // Only what can change this cycle's result: a new entry of another cycle does not make it stale.
    const fingerprint = {
      scope: 'cycle',
      cycle: keyText,
      obligations: obligations.map((o) => ({ id: o.id, last_updated_ts: o.last_updated_ts.toISOString(), content_sha256: o.content_sha256 })),
      cycle_ledger_seq: marks.cycle_ledger_seq,
      uncycled_ledger_seq: marks.uncycled_ledger_seq,
      balance_history_id: marks.day_balance_history_id,
      withdrawal_state_change_id: marks.day_withdrawal_state_change_id,
      tolerances: tolerancesJson(t),
      buffer_match_window_hours: settings.bufferMatchWindowHours,
    };
    const inputs = {
      ...fingerprint,
      ledger_seq: marks.ledger_seq,
      balance_history_high_water_mark: marks.balance_history_id,
      withdrawal_state_change_high_water_mark: marks.withdrawal_state_change_id,
    };
    return {
      scopeKey: cycleScopeKey(cycle),
      inputs,
      sha: inputsSha256(fingerprint),
      execute: async (q, runId) => {
        const base = [cycle, marks.ledger_seq, ids];
        await q.query(CREATE_SETTLEMENT_SUBTRADER_TABLE_SQL);
        await q.query(SETTLEMENT_SUBTRADERS_SQL, base);
        // Temporary tables are never auto-analysed: the planner needs to know how many to examine.
        await q.query('ANALYZE recon_settlement_subtrader');
        await q.query(SETTLEMENT_DETAILS_SQL, [...base, keyText, t.settlementDetails.toString()]);
        await q.query(SETTLEMENT_DETAILS_REASONS_SQL, base);
        await q.query(MAINTENANCE_MARGIN_SQL, [...base, keyText, t.maintenanceMargin.toString()]);
        await q.query(MAINTENANCE_MARGIN_REASONS_SQL, base);
        await q.query(KLEAR_CONSISTENCY_SQL, [ids, keyText, t.klearConsistency.toString()]);
        const bufferBase = [cycle, marks.ledger_seq, marks.balance_history_id];
        await q.query(BUFFER_MOVEMENTS_SQL, [...bufferBase, t.settlementBuffer.toString(), windowSeconds]);
        await q.query(BUFFER_BALANCES_SQL, [...bufferBase, marks.withdrawal_state_change_id, keyText, t.settlementBuffer.toString()]);
        const rows = (await q.query(SETTLEMENT_EXPLAINABILITY_SQL, [runId])) as Array<Record<string, string | null>>;
        const cycleTotals = rows.find((r) => r.subtrader_id === null)!;
        const violations = rows.filter((r) => r.subtrader_id !== null) as Array<Record<string, string>>;
        if (violations.length > 0) throw new ExplainabilityViolated(violations);
        return {
          settlement_details_totals: {
            klear_total: cycleTotals.klear_total ?? '0',
            internal_total: cycleTotals.internal_total ?? '0',
            break_difference: cycleTotals.breaks ?? '0',
            tolerated_difference: cycleTotals.tolerated ?? '0',
          },
        };
      },
    };
  }

  private async prepareProjected(tx: EntityManager, settings: ReconSettings): Promise<PreparedRun | undefined> {
    const [snapshot] = (await tx.query(
      `SELECT id::text, pulled_at FROM klear_estimate_snapshot WHERE source = 'settlement_estimate' ORDER BY pulled_at DESC, id DESC LIMIT 1`,
    )) as Array<{ id: string; pulled_at: Date }>;
    if (!snapshot) return undefined;
    const [marks] = (await tx.query(
      `SELECT (SELECT coalesce(max(ledger_seq), 0) FROM journal_entry)::text AS ledger_seq,
              (SELECT max(execution_time) FROM klear_obligation) AS last_settled`,
    )) as Array<{ ledger_seq: string; last_settled: Date | null }>;
    const lastSettled = marks.last_settled ?? new Date(-8.64e15);
    const [open] = (await tx.query(`SELECT coalesce(max(ledger_seq), 0)::text AS seq FROM journal_entry WHERE cycle > $1`, [lastSettled])) as Array<{ seq: string }>;
    const fingerprint = {
      scope: 'projected',
      estimate_snapshot_id: snapshot.id,
      estimate_pulled_at: snapshot.pulled_at.toISOString(),
      last_settled_cycle: marks.last_settled ? cycleKeyText(marks.last_settled) : null,
      open_cycle_ledger_seq: open.seq,
      tolerances: tolerancesJson(settings.tolerances),
    };
    return {
      scopeKey: PROJECTED_SCOPE_KEY,
      inputs: { ...fingerprint, ledger_seq: marks.ledger_seq },
      sha: inputsSha256(fingerprint),
      execute: async (q) => {
        await q.query(PROJECTED_SQL, [snapshot.id, marks.ledger_seq, lastSettled, settings.tolerances.projected.toString()]);
        return {};
      },
    };
  }

  private async summarise(tx: EntityManager): Promise<Record<string, unknown>> {
    const rows = (await tx.query(FOUND_SUMMARY_SQL)) as Array<{ check: string; reason_code: string | null; n: number; difference: string; klear_value: string; internal_value: string }>;
    const checks: Record<string, { breaks: number; by_reason: Record<string, number>; klear_total: string; internal_total: string; difference: string; tolerated: number; tolerated_difference: string }> = {};
    for (const r of rows) {
      const c = (checks[r.check] ??= { breaks: 0, by_reason: {}, klear_total: '0', internal_total: '0', difference: '0', tolerated: 0, tolerated_difference: '0' });
      if (r.reason_code === null) {
        c.tolerated += r.n;
        c.tolerated_difference = (BigInt(c.tolerated_difference) + BigInt(r.difference)).toString();
        continue;
      }
      c.breaks += r.n;
      c.by_reason[r.reason_code] = r.n;
      c.klear_total = (BigInt(c.klear_total) + BigInt(r.klear_value)).toString();
      c.internal_total = (BigInt(c.internal_total) + BigInt(r.internal_value)).toString();
      c.difference = (BigInt(c.difference) + BigInt(r.difference)).toString();
    }
    return { checks };
  }

  private async applyFindings(tx: EntityManager, runId: string, scopeKey: string, cycle: Date | null): Promise<Omit<RunOutcome, 'runId' | 'inputsSha256'>> {
    const inactive = ((await tx.query(PREVIOUSLY_INACTIVE_SQL, [scopeKey])) as Array<{ id: string }>).map((r) => r.id);
    const [upserted] = (await tx.query(UPSERT_BREAKS_SQL, [runId, scopeKey, cycle])) as Array<{ opened: number; found: number }>;
    const reopened = inactive.length === 0
      ? []
      : ((await tx.query(`SELECT id::text FROM recon_break WHERE id = ANY($1::bigint[]) AND status = 'open' ORDER BY id`, [inactive])) as Array<{ id: string }>).map((r) => r.id);
    const closed = ((await tx.query(CLOSE_UNSEEN_BREAKS_SQL, [runId, scopeKey])) as Array<{ id: string }>).map((r) => r.id).sort((a, b) => Number(a) - Number(b));
    await tx.query(INSERT_OBSERVATIONS_SQL, [runId, scopeKey]);
    return { breakCount: upserted.found, opened: upserted.opened, reopened, closed };
  }
}
