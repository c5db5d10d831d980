import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditService } from '@app/audit';
import { Clock } from '@app/clock';
import { ensureCyclePartitions } from '@app/db';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { AdvisoryLocks, lockForSession, unlockSession } from '@app/db';
import { BREAKS_OPENED_OUTBOX_SQL } from '@app/notifications';

import { DataSource, type EntityManager, type QueryRunner } from 'typeorm';
import { CYCLE_CHECKS, type CycleContext, type PreparedCheck, PROJECTED_CHECKS, type ProjectedContext, type ReconCheck } from './checks';
import {
  cycleKeyText,
  cycleScopeKey,
  DEFAULT_ASSET_CLASS,
  inputsSha256,
  LATEST_ESTIMATE_SNAPSHOT_SQL,
  projectedScopeKey,
  type ReconSettings,
  tolerancesJson,
} from './recon-inputs';
import {
  CLOSE_UNSEEN_BREAKS_SQL,
  INSERT_OBSERVATIONS_SQL,
  LOCK_AND_READ_DISCARDED_SQL,
  TO_REOPEN_SQL,
  UPSERT_BREAKS_SQL,
} from './sql/break-lifecycle.sql';
import { CREATE_FOUND_TABLE_SQL, FOUND_SUMMARY_SQL, TOLERANCE_AGGREGATES_SQL } from './sql/found-table.sql';

/** NOTIFY_BREAK_MIN_CENTICENTS's default ($100). */
const DEFAULT_BREAK_NOTIFY_MIN_CENTICENTS = 1_000_000n;

export interface RunRequest {
  scope: 'cycle' | 'projected';
  cycle?: Date;
  /** Every run (a cycle's, a projected one) reconciles one asset class (default Crypto, the only class before the live API). */
  assetClass?: string;
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
  checks: Array<{ check: ReconCheck<never>; prepared: PreparedCheck }>;
}

/** A break whose resolution (or write-off proposal) the run discards, as it was before. */
interface DiscardedDecision {
  id: string;
  status: string;
  resolution_reason: string;
  resolution_reference: string | null;
  resolution_note: string | null;
  resolved_by: string | null;
  cosigned_by: string | null;
  write_off_difference_centicents: string | null;
  klear_value_centicents: string | null;
  internal_value_centicents: string | null;
  difference_centicents: string;
  found_klear: string | null;
  found_internal: string | null;
  found_difference: string;
}

/** A run names its asset class: Crypto unless asked otherwise. */
function withAssetClass<R extends Omit<RunRequest, 'actor'>>(request: R): R {
  return request.assetClass === undefined ? { ...request, assetClass: DEFAULT_ASSET_CLASS } : request;
}

/**
 * Runs one reconciliation on one connection, in two transactions under the scope's session lock:
 *
 * 1. REPEATABLE READ: fixes the inputs (obligation versions, high-water marks, estimate snapshot)
 *    and computes every check set-based in SQL into temporary tables of the session, applies the
 *    aggregate tolerances, asserts explainability. Nothing outside the session is written, so
 *    concurrent writers never make it fail.
 * 2. READ COMMITTED: records the run and turns its findings into breaks, under row locks on the
 *    scope's breaks (people working them wait, or the run waits for them), with its audit rows
 *    appended to the chain's latest row.
 *
 * A failed run is recorded as failed, with its inputs, and keeps nothing else.
 */
@Injectable()
export class ReconciliationRunRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    // Optional for contexts built by hand (benchmarks, test worlds): the default threshold applies.
    @Optional() @Inject(APP_CONFIG) private readonly config?: AppConfig,
  ) {}

  async run(asked: RunRequest, onMissingInputs: () => Error): Promise<RunOutcome> {
    const request = withAssetClass(asked);
    const scopeKey =
      request.scope === 'cycle' ? cycleScopeKey(request.cycle!, request.assetClass!) : projectedScopeKey(request.assetClass!);
    const startedAt = this.clock.now();
    let prepared: PreparedRun | undefined;
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      // Serialises runs of one scope, taken before the snapshot so that a second run waits and then sees the first one's breaks.
      await lockForSession(runner, AdvisoryLocks.reconciliationScope(scopeKey));
      try {
        const summary = await this.inTransaction(runner, 'REPEATABLE READ', async (tx) => {
          await tx.query(`SET LOCAL work_mem = '128MB'`);
          // The statements here are short; JIT compilation would cost more than it saves.
          await tx.query(`SET LOCAL jit = off`);
          prepared = await this.prepare(tx, request);
          if (!prepared) throw onMissingInputs();
          return this.computeFindings(tx, prepared, request.settings);
        });
        return await this.inTransaction(runner, 'READ COMMITTED', (tx) => this.record(tx, request, prepared!, summary, startedAt));
      } finally {
        await unlockSession(runner, AdvisoryLocks.reconciliationScope(scopeKey)).catch(() => undefined);
      }
    } catch (error) {
      if (prepared) await this.recordFailure(request, prepared, error, startedAt);
      throw error;
    } finally {
      await runner.query('DISCARD TEMP').catch(() => undefined);
      await runner.release();
    }
  }

  /** The inputs fingerprint a run would have now (undefined when its Klear inputs are not ingested). */
  async currentInputsSha(request: Omit<RunRequest, 'actor'>): Promise<string | undefined> {
    return this.dataSource.transaction('REPEATABLE READ', async (tx) => (await this.prepare(tx, withAssetClass(request)))?.sha);
  }

  private async inTransaction<T>(
    runner: QueryRunner,
    isolation: 'REPEATABLE READ' | 'READ COMMITTED',
    work: (tx: EntityManager) => Promise<T>,
  ): Promise<T> {
    await runner.startTransaction(isolation);
    try {
      const result = await work(runner.manager);
      await runner.commitTransaction();
      return result;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    }
  }

  private prepare(tx: EntityManager, request: Omit<RunRequest, 'actor'>): Promise<PreparedRun | undefined> {
    return request.scope === 'cycle'
      ? this.prepareCycle(tx, request.cycle!, request.assetClass!, request.settings)
      : this.prepareProjected(tx, request.assetClass!, request.settings);
  }

  /** Every check's inputs, read in the snapshot; the fingerprint covers exactly what the checks read. */
  private async prepareChecks<C>(tx: EntityManager, checks: ReadonlyArray<ReconCheck<C>>, context: C) {
    const prepared: PreparedRun['checks'] = [];
    const inputs: Record<string, unknown> = {};
    for (const check of checks) {
      const p = await check.prepare(tx, context);
      prepared.push({ check: check as ReconCheck<never>, prepared: p });
      inputs[check.name] = p.inputs;
    }
    return { prepared, inputs };
  }

  private async prepareCycle(
    tx: EntityManager,
    cycle: Date,
    assetClass: string,
    settings: ReconSettings,
  ): Promise<PreparedRun | undefined> {
    const obligations = (await tx.query(
      `SELECT id, last_updated_ts, content_sha256 FROM klear_obligation WHERE execution_time = $1 AND asset_class = $2 ORDER BY id`,
      [cycle, assetClass],
    )) as Array<{ id: string; last_updated_ts: Date; content_sha256: string }>;
    if (obligations.length === 0) return undefined;
    const [marks] = (await tx.query(
      `SELECT (SELECT coalesce(max(ledger_seq), 0) FROM journal_entry)::text AS ledger_seq,
              (SELECT coalesce(max(id), 0) FROM klear_balance_history)::text AS balance_history_id,
              (SELECT coalesce(max(id), 0) FROM withdrawal_state_change)::text AS withdrawal_state_change_id`,
    )) as Array<Record<string, string>>;
    const keyText = cycleKeyText(cycle);
    const context: CycleContext = {
      cycle,
      assetClass,
      keyText,
      obligationIds: obligations.map((o) => o.id),
      ledgerSeq: marks.ledger_seq,
      balanceHistoryId: marks.balance_history_id,
      withdrawalStateChangeId: marks.withdrawal_state_change_id,
      settings,
    };
    // Only what can change this cycle's result: activity that no check reads does not make it stale.
    const fingerprintOf = (checks: Record<string, unknown>) => ({
      scope: 'cycle',
      cycle: keyText,
      asset_class: assetClass,
      obligations: obligations.map((o) => ({
        id: o.id,
        last_updated_ts: o.last_updated_ts.toISOString(),
        content_sha256: o.content_sha256,
      })),
      tolerances: tolerancesJson(settings.tolerances),
      buffer_match_window_hours: settings.bufferMatchWindowHours,
      checks,
    });
    return this.preparedRun(tx, CYCLE_CHECKS, context, cycleScopeKey(cycle, assetClass), fingerprintOf, {
      ledger_seq: marks.ledger_seq,
      balance_history_high_water_mark: marks.balance_history_id,
      withdrawal_state_change_high_water_mark: marks.withdrawal_state_change_id,
    });
  }

  /**
   * The latest estimate snapshot's line of one asset class (its user line: undefined when the class is
   * not in it), the cycle it projects (that line's next_runtime), and the class's last settled cycle.
   */
  private async prepareProjected(tx: EntityManager, assetClass: string, settings: ReconSettings): Promise<PreparedRun | undefined> {
    const [snapshot] = (await tx.query(
      `WITH latest AS (${LATEST_ESTIMATE_SNAPSHOT_SQL})
       SELECT latest.id, latest.pulled_at, l.next_runtime FROM latest
         JOIN klear_estimate_line l ON l.snapshot_id = latest.id::bigint AND l.asset_class = $1 AND l.scope = 'user' AND l.key = ''`,
      [assetClass],
    )) as Array<{ id: string; pulled_at: Date; next_runtime: Date | null }>;
    if (!snapshot) return undefined;
    const [marks] = (await tx.query(
      `SELECT (SELECT coalesce(max(ledger_seq), 0) FROM journal_entry)::text AS ledger_seq,
              (SELECT max(execution_time) FROM klear_obligation WHERE asset_class = $1) AS last_settled`,
      [assetClass],
    )) as Array<{ ledger_seq: string; last_settled: Date | null }>;
    const context: ProjectedContext = {
      assetClass,
      snapshotId: snapshot.id,
      pulledAt: snapshot.pulled_at,
      lastSettled: marks.last_settled,
      nextRuntime: snapshot.next_runtime,
      ledgerSeq: marks.ledger_seq,
      settings,
    };
    const fingerprintOf = (checks: Record<string, unknown>) => ({
      scope: 'projected',
      asset_class: assetClass,
      estimate_snapshot_id: snapshot.id,
      estimate_pulled_at: snapshot.pulled_at.toISOString(),
      last_settled_cycle: marks.last_settled ? cycleKeyText(marks.last_settled) : null,
      next_runtime: context.nextRuntime ? cycleKeyText(context.nextRuntime) : undefined,
      tolerances: tolerancesJson(settings.tolerances),
      checks,
    });
    return this.preparedRun(tx, PROJECTED_CHECKS, context, projectedScopeKey(assetClass), fingerprintOf, { ledger_seq: marks.ledger_seq });
  }

  /**
   * Prepares the checks in the snapshot; the run's fingerprint is `fingerprintOf` what they read,
   * its recorded inputs that and the high-water marks it read at.
   */
  private async preparedRun<C>(
    tx: EntityManager,
    checks: ReadonlyArray<ReconCheck<C>>,
    context: C,
    scopeKey: string,
    fingerprintOf: (checks: Record<string, unknown>) => Record<string, unknown>,
    marks: Record<string, string>,
  ): Promise<PreparedRun> {
    const { prepared, inputs } = await this.prepareChecks(tx, checks, context);
    const fingerprint = fingerprintOf(inputs);
    return { scopeKey, inputs: { ...fingerprint, ...marks }, sha: inputsSha256(fingerprint), checks: prepared };
  }

  /** Runs the checks into recon_found, holds the tolerated differences to the tolerances together, finishes each check. */
  private async computeFindings(tx: EntityManager, prepared: PreparedRun, settings: ReconSettings): Promise<Record<string, unknown>> {
    await tx.query(CREATE_FOUND_TABLE_SQL);
    const totals: Record<string, unknown> = {};
    for (const { prepared: check } of prepared.checks) Object.assign(totals, await check.execute(tx));
    const names = prepared.checks.map((c) => c.check.name);
    const tolerances = prepared.checks.map((c) => c.check.tolerance(settings).toString());
    for (const statement of TOLERANCE_AGGREGATES_SQL) await tx.query(statement, [names, tolerances]);
    for (const { prepared: check } of prepared.checks) Object.assign(totals, await check.finish?.(tx));
    return { ...(await this.summarise(tx)), ...totals };
  }

  private async record(
    tx: EntityManager,
    request: RunRequest,
    prepared: PreparedRun,
    summary: Record<string, unknown>,
    startedAt: Date,
  ): Promise<RunOutcome> {
    const runId = await this.insertRun(tx, request, prepared, startedAt);
    for (const { prepared: check } of prepared.checks) await check.store?.(tx, runId);
    const now = this.clock.now();
    const discarded = (await tx.query(LOCK_AND_READ_DISCARDED_SQL, [prepared.scopeKey])) as DiscardedDecision[];
    const reopened = ((await tx.query(TO_REOPEN_SQL, [prepared.scopeKey])) as Array<{ id: string }>).map((r) => r.id);
    const [upserted] = (await tx.query(UPSERT_BREAKS_SQL, [
      runId,
      prepared.scopeKey,
      request.cycle ?? null,
      now,
      request.assetClass ?? null,
    ])) as Array<{ opened: number; found: number }>;
    const closed = ((await tx.query(CLOSE_UNSEEN_BREAKS_SQL, [runId, prepared.scopeKey, now])) as Array<{ id: string }>).map((r) => r.id);
    await ensureCyclePartitions(tx, [request.cycle ?? null]);
    await tx.query(INSERT_OBSERVATIONS_SQL, [runId, prepared.scopeKey, request.cycle ?? null]);
    await tx.query(BREAKS_OPENED_OUTBOX_SQL, [
      runId,
      (this.config?.notifications.breakMinCenticents ?? DEFAULT_BREAK_NOTIFY_MIN_CENTICENTS).toString(),
      now,
      reopened,
    ]);
    const outcome = { breakCount: upserted.found, opened: upserted.opened, reopened, closed };
    await tx.query(`UPDATE recon_run SET status = 'succeeded', finished_at = $2, break_count = $3, summary = $4 WHERE id = $1`, [
      runId,
      this.clock.now(),
      outcome.breakCount,
      summary,
    ]);
    for (const d of discarded) await this.auditDiscarded(tx, request.actor, runId, d);
    await this.audit.record(
      {
        actor: request.actor,
        action: 'reconciliation.run',
        entityType: 'recon_run',
        entityId: runId,
        toState: 'succeeded',
        details: {
          scope: prepared.scopeKey,
          asset_class: request.assetClass ?? null,
          inputs_sha256: prepared.sha,
          breaks: outcome.breakCount,
          opened: outcome.opened,
          reopened,
          closed,
        },
      },
      tx,
    );
    return { runId, inputsSha256: prepared.sha, ...outcome };
  }

  /** A resolution or write-off proposal the run discarded because the break's figures are no longer those it was made on. */
  private async auditDiscarded(tx: EntityManager, actor: string, runId: string, d: DiscardedDecision): Promise<void> {
    const voided = d.status === 'pending_write_off';
    await this.audit.record(
      {
        actor,
        action: voided ? 'break.write_off_voided' : 'break.reopened',
        entityType: 'recon_break',
        entityId: d.id,
        fromState: d.status,
        toState: 'open',
        reason: voided
          ? 'the figures of the break changed since the write-off was proposed'
          : 'found again with other figures, or after it was closed',
        details: {
          run_id: runId,
          [voided ? 'proposed' : 'previous']: {
            resolution_reason: d.resolution_reason,
            resolution_reference: d.resolution_reference,
            resolution_note: d.resolution_note,
            ...(voided ? { proposed_by: d.resolved_by } : { resolved_by: d.resolved_by, cosigned_by: d.cosigned_by }),
            difference_centicents: voided ? d.write_off_difference_centicents : d.difference_centicents,
            klear_value_centicents: d.klear_value_centicents,
            internal_value_centicents: d.internal_value_centicents,
          },
          found: {
            difference_centicents: d.found_difference,
            klear_value_centicents: d.found_klear,
            internal_value_centicents: d.found_internal,
          },
        },
      },
      tx,
    );
  }

  /** The run's row, with its inputs: `running` until its breaks are recorded, or `failed` with its error. */
  private async insertRun(
    tx: EntityManager,
    request: RunRequest,
    prepared: PreparedRun,
    startedAt: Date,
    failed?: { finishedAt: Date; error: string },
  ): Promise<string> {
    const [run] = (await tx.query(
      `INSERT INTO recon_run (scope, scope_key, cycle, inputs, inputs_sha256, status, started_at, finished_at, error, created_by, asset_class)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id::text`,
      [
        request.scope,
        prepared.scopeKey,
        request.cycle ?? null,
        prepared.inputs,
        prepared.sha,
        failed ? 'failed' : 'running',
        startedAt,
        failed?.finishedAt ?? null,
        failed?.error ?? null,
        request.actor,
        request.assetClass ?? null,
      ],
    )) as Array<{ id: string }>;
    return run.id;
  }

  private async recordFailure(request: RunRequest, prepared: PreparedRun, error: unknown, startedAt: Date): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    await this.dataSource.transaction(async (tx) => {
      const runId = await this.insertRun(tx, request, prepared, startedAt, { finishedAt: this.clock.now(), error: message });
      await this.audit.record(
        {
          actor: request.actor,
          action: 'reconciliation.run',
          entityType: 'recon_run',
          entityId: runId,
          toState: 'failed',
          reason: message.slice(0, 500),
        },
        tx,
      );
    });
  }

  private async summarise(tx: EntityManager): Promise<Record<string, unknown>> {
    const rows = (await tx.query(FOUND_SUMMARY_SQL)) as Array<{
      check: string;
      reason_code: string;
      tolerated: boolean;
      n: number;
      difference: string;
      klear_value: string;
      internal_value: string;
    }>;
    const checks: Record<
      string,
      {
        breaks: number;
        by_reason: Record<string, number>;
        klear_total: string;
        internal_total: string;
        difference: string;
        tolerated: number;
        tolerated_difference: string;
      }
    > = {};
    const add = (a: string, b: string) => (BigInt(a) + BigInt(b)).toString();
    for (const r of rows) {
      const c = (checks[r.check] ??= {
        breaks: 0,
        by_reason: {},
        klear_total: '0',
        internal_total: '0',
        difference: '0',
        tolerated: 0,
        tolerated_difference: '0',
      });
      if (r.tolerated) {
        c.tolerated += r.n;
        c.tolerated_difference = add(c.tolerated_difference, r.difference);
        continue;
      }
      c.breaks += r.n;
      c.by_reason[r.reason_code] = (c.by_reason[r.reason_code] ?? 0) + r.n;
      c.klear_total = add(c.klear_total, r.klear_value);
      c.internal_total = add(c.internal_total, r.internal_value);
      c.difference = add(c.difference, r.difference);
    }
    return { checks };
  }
}
