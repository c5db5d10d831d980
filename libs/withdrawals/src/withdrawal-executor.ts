import { hostname } from 'node:os';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import type { WithdrawalAttempt } from '@app/db';
import { KlearWithdrawalRepository } from '@app/ingestion';
import { BufferHeadroomService } from './buffer-headroom.service';
import { readHistoryHead } from './balance-history-walk';
import { type ExecutorLease, ExecutorLeaseRepository } from './executor-lease.repository';
import type { HeadroomResult } from './headroom-check';
import { WithdrawalAttention } from './withdrawal-attention.service';
import { WithdrawalDecisionService, progressOf } from './withdrawal-decision.service';
import { ExecutorFenced, KlearIdTaken } from './withdrawal-errors';
import { EXECUTOR_ACTOR, type ResolutionCounts, WithdrawalOutcomeResolver } from './withdrawal-outcome-resolver';
import { policyFromSnapshot, type PolicySnapshotJson } from './withdrawal-policy';
import {
  EXECUTOR_HOOKS,
  type ExecutorCrashPoint,
  type ExecutorHooks,
  type ExecutorStepContext,
  type SubmissionOutcome,
  WITHDRAWAL_KLEAR_PORT,
  type WithdrawalKlearPort,
} from './withdrawal-ports';
import { WithdrawalTransitions } from './withdrawal-transitions';
import { WithdrawalRepository, type WithdrawalTx } from './withdrawal.repository';

export interface ExecutorRunSummary {
  ran: boolean;
  /** Attempts found `submitting`: abandoned (provably never posted, back to approved) or outcome_unknown (posted). */
  recovered: number;
  abandoned: number;
  resolved: ResolutionCounts;
  submitted: number;
  outcomeUnknown: number;
  notSubmitted: number;
  /** Attempts of this run that provably never left (rate-limit wait refused, connection refused): back to approved. */
  notSent: number;
  held: number;
  returnedForApproval: number;
  expired: number;
  /** Why the run stopped early because it no longer owned the withdrawals (lost lock, newer executor), or null. */
  fenced: string | null;
}

export interface ExecutorRunOptions {
  /** Steps to hold, observe or break in this run (tests); the injected EXECUTOR_HOOKS otherwise. */
  hooks?: ExecutorHooks;
}

/**
 * Sends approved withdrawals to Klear, exactly once each, by fencing rather than by luck:
 * - a run owns the withdrawals through a lease (advisory lock + a new fencing token); every write it
 *   makes is a fenced transaction that fails once a newer executor has taken over;
 * - per request: re-check expiry, policy and headroom on a fresh balance; COMMIT `submitting` with an
 *   attempt; wait for the rate limit (bounded); record "posting now" on the lock's own connection,
 *   fenced (ExecutorLease.recordPosting); POST at once; write Klear's answer first
 *   (withdrawal_klear_answer, append-only); then commit what it means.
 * An attempt without the posting record provably never left (its executor can no longer write one):
 * it is abandoned and the request goes back to `approved`. One with the record and no answer is
 * `outcome_unknown`, settled only by WithdrawalOutcomeResolver from Klear's records, the grace period
 * counting from the record.
 */
@Injectable()
export class WithdrawalExecutor {
  private readonly logger = new Logger('WithdrawalExecutor');
  private readonly instance = `${hostname()}:${process.pid}`;

  constructor(
    private readonly repository: WithdrawalRepository,
    private readonly leases: ExecutorLeaseRepository,
    private readonly klearWithdrawals: KlearWithdrawalRepository,
    private readonly transitions: WithdrawalTransitions,
    private readonly headroom: BufferHeadroomService,
    private readonly decisions: WithdrawalDecisionService,
    private readonly resolver: WithdrawalOutcomeResolver,
    private readonly attention: WithdrawalAttention,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WITHDRAWAL_KLEAR_PORT) private readonly klear: WithdrawalKlearPort,
    @Optional() @Inject(EXECUTOR_HOOKS) private readonly hooks?: ExecutorHooks,
  ) {}

  async runOnce(options: ExecutorRunOptions = {}): Promise<ExecutorRunSummary> {
    const summary: ExecutorRunSummary = {
      ran: false,
      recovered: 0,
      abandoned: 0,
      resolved: { submitted: 0, not_submitted: 0, still_unknown: 0 },
      submitted: 0,
      outcomeUnknown: 0,
      notSubmitted: 0,
      notSent: 0,
      held: 0,
      returnedForApproval: 0,
      expired: 0,
      fenced: null,
    };
    const lease = await this.leases.acquire(this.instance, this.clock.now());
    if (!lease) return summary;
    summary.ran = true;
    const hooks = options.hooks ?? this.hooks;
    const step = async (point: ExecutorCrashPoint, extra: Partial<ExecutorStepContext> = {}) => {
      await hooks?.at?.(point, { token: lease.token, lockBackendPid: lease.backendPid, ...extra });
    };
    try {
      await step('lease_acquired');
      const recovered = await this.recoverInterrupted(lease);
      summary.recovered = recovered.abandoned + recovered.unknown;
      summary.abandoned = recovered.abandoned;
      await step('recovered');
      summary.resolved = await this.resolver.resolveAll(lease);
      await step('resolved');
      for (const id of await this.repository.approvedIds()) {
        const result = await this.execute(id, lease, step);
        if (result === 'submitted') summary.submitted += 1;
        else if (result === 'outcome_unknown') summary.outcomeUnknown += 1;
        else if (result === 'not_submitted') summary.notSubmitted += 1;
        else if (result === 'not_sent') summary.notSent += 1;
        else if (result === 'held') summary.held += 1;
        else if (result === 'pending_approval') summary.returnedForApproval += 1;
        else if (result === 'expired') summary.expired += 1;
      }
    } catch (error) {
      if (!(error instanceof ExecutorFenced)) throw error;
      summary.fenced = error.why;
      this.logger.warn(`stopped, sending nothing more: ${error.message}`);
    } finally {
      await lease.release();
    }
    return summary;
  }

  /**
   * Attempts left `submitting` by an executor that stopped (crashed, lost its lock). This run holds a
   * newer fencing token, so that executor can no longer record a POST: an attempt without the record
   * never left and never will (abandoned, back to approved); one with it may have (outcome_unknown).
   */
  private async recoverInterrupted(lease: ExecutorLease): Promise<{ abandoned: number; unknown: number }> {
    const counts = { abandoned: 0, unknown: 0 };
    for (const id of await this.repository.submittingIds()) {
      await this.repository.fencedTransaction(lease, async (m) => {
        const request = await this.repository.lockRequest(m, id);
        if (!request || request.state !== 'submitting') return;
        const attempt = await this.repository.openAttempt(m, id);
        if (!attempt || attempt.postedAt === null) {
          if (attempt) {
            await this.repository.updateAttempt(m, attempt.id, {
              state: 'abandoned',
              finishedAt: this.clock.now(),
              error: 'the executor stopped before recording that its POST was leaving: nothing was sent',
              resolution: { conclusion: 'abandoned', source: 'recovery', fencing_token: lease.token },
            });
          }
          await this.transitions.apply(m, request, 'approved', {
            actor: EXECUTOR_ACTOR,
            reason:
              'the previous executor stopped before its POST was recorded as leaving: provably nothing was sent; the approvals still count',
            details: { attempt_no: attempt?.attemptNo ?? null },
          });
          counts.abandoned += 1;
          return;
        }
        await this.repository.updateAttempt(m, attempt.id, {
          state: 'outcome_unknown',
          error: "the executor stopped after recording its POST as leaving and before recording Klear's answer",
        });
        await this.transitions.apply(m, request, 'outcome_unknown', {
          actor: EXECUTOR_ACTOR,
          reason: 'found submitting with its POST recorded as leaving: the previous executor stopped mid-submission',
          details: { attempt_no: attempt.attemptNo, posted_at: attempt.postedAt.toISOString() },
        });
        counts.unknown += 1;
      });
    }
    return counts;
  }

  private async execute(
    id: string,
    lease: ExecutorLease,
    step: (point: ExecutorCrashPoint, extra?: Partial<ExecutorStepContext>) => Promise<void>,
  ): Promise<string> {
    const request = await this.repository.findRequest(id);
    if (!request || request.state !== 'approved') return 'skipped';
    const policy = policyFromSnapshot(request.policySnapshot as unknown as PolicySnapshotJson);
    let check: HeadroomResult;
    let head;
    try {
      check = await this.headroom.assess(request.amountCenticents, policy.reserveFloorCenticents, {
        executing: { id, createdAt: request.createdAt },
        forceRefresh: true,
      });
      head = await readHistoryHead(this.klear);
    } catch (error) {
      // Klear (or the database keeping its answer) cannot be read: nothing is sent without fresh figures; the next run tries again.
      this.logger.warn(
        `withdrawal ${id}: not submitted this run, fresh figures unavailable: ${error instanceof Error ? error.message : String(error)}`,
      );
      return 'skipped';
    }

    const started = await this.repository.fencedTransaction(lease, async (m): Promise<WithdrawalAttempt | string> => {
      const locked = await this.repository.lockRequest(m, id);
      if (!locked || locked.state !== 'approved') return 'skipped';
      if (await this.decisions.expireIfDue(m, locked, EXECUTOR_ACTOR)) return 'expired';
      const progress = progressOf(locked, await this.repository.approvalsOfRound(m, id, locked.approvalRound));
      if (!progress.satisfied) {
        await this.transitions.apply(m, locked, 'pending_approval', {
          actor: EXECUTOR_ACTOR,
          reason: 'the approvals on record no longer satisfy the policy (an approver lost a role or was disabled)',
          details: { approvals: progress.approvals, required: progress.required, roles_missing: progress.rolesMissing },
        });
        return 'pending_approval';
      }
      if (!check.ok) {
        if (locked.executionHold === null) {
          await this.repository.setExecutionHold(m, id, check.figures);
          await this.transitions.note(m, locked, 'held', {
            actor: EXECUTOR_ACTOR,
            reason: 'not enough headroom to submit now; retried on later runs until it expires',
            details: check.figures,
          });
        }
        return 'held';
      }
      const attempt = await this.repository.insertAttempt(m, {
        requestId: id,
        attemptNo: await this.repository.nextAttemptNo(m, id),
        state: 'submitting',
        startedAt: this.clock.now(),
        postedAt: null,
        fencingToken: null,
        finishedAt: null,
        klearWithdrawalId: null,
        error: null,
        availableBeforeCenticents: BigInt(check.figures.available_centicents as string),
        lockedBeforeCenticents: BigInt(check.figures.locked_centicents as string),
        historyHeadBefore: head as unknown as Record<string, unknown>,
        resolution: null,
      });
      await this.transitions.apply(m, locked, 'submitting', {
        actor: EXECUTOR_ACTOR,
        reason: 'approved, headroom re-checked on a fresh balance',
        details: { attempt_no: attempt.attemptNo, headroom: check.figures, fencing_token: lease.token },
        set: { executionHold: null },
      });
      return attempt;
    });
    if (typeof started === 'string') return started;

    const context = { requestId: id, attemptId: started.id };
    await step('after_submitting_committed', context);
    const graceMs = this.config.withdrawals.outcomeGraceSeconds * 1000;
    let postedAt: Date | null = null;
    const outcome = await this.klear.submitWithdrawal(request.amountCenticents, {
      maxWaitMs: this.config.withdrawals.postMaxWaitSeconds * 1000,
      onWait: () => void step('rate_limit_wait', context),
      beforeSend: async () => {
        await step('before_posting_record', context);
        const at = this.clock.now();
        await lease.recordPosting(started.id, at);
        postedAt = at;
        await step('after_posting_record', context);
        // The grace period counts from the record: a POST that could not leave within half of it
        // (a stalled process) is not sent at all, so that an absence at Klear still proves something.
        const lateMs = this.clock.nowMs() - at.getTime();
        if (lateMs > graceMs / 2) throw new Error(`the POST could not leave within ${graceMs / 2} ms of its record (${lateMs} ms later)`);
      },
    });
    await step('after_klear_answered', context);
    if (postedAt !== null) await this.recordAnswer(started, outcome, lease);
    await step('after_answer_recorded', context);
    const result = await this.recordOutcome(id, started, outcome, postedAt, lease);
    await step('after_outcome_committed', context);
    return result;
  }

  /** Klear's answer, written first and never changed; a database failure here is logged, never thrown. */
  private async recordAnswer(attempt: WithdrawalAttempt, outcome: SubmissionOutcome, lease: ExecutorLease): Promise<void> {
    const fields = {
      requestId: attempt.requestId,
      attemptId: attempt.id,
      receivedAt: this.clock.now(),
      outcome: outcome.kind,
      httpStatus:
        outcome.kind === 'created' || outcome.kind === 'refused' ? outcome.status : outcome.kind === 'unknown' ? outcome.status : null,
      klearWithdrawalId: outcome.kind === 'created' ? outcome.klearId : null,
      klearCode: outcome.kind === 'refused' ? outcome.code : null,
      message: outcome.kind === 'created' ? null : outcome.message,
      body: outcome.kind === 'created' ? outcome.body : null,
      fencingToken: lease.token,
    };
    try {
      await this.repository.appendKlearAnswer(fields);
    } catch (error) {
      // The resolver still finds a created withdrawal in Klear's records; the log keeps the id meanwhile.
      this.logger.error(
        `withdrawal ${attempt.requestId}: Klear's answer (${outcome.kind}${fields.klearWithdrawalId ? ` ${fields.klearWithdrawalId}` : ''}) could not be recorded: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  private async recordOutcome(
    id: string,
    attempt: WithdrawalAttempt,
    outcome: SubmissionOutcome,
    postedAt: Date | null,
    lease: ExecutorLease,
  ): Promise<string> {
    try {
      return await this.repository.fencedTransaction(lease, (m) => this.applyOutcome(m, id, attempt, outcome, postedAt));
    } catch (error) {
      // Two requests cannot hold one Klear id: a race past the check below ends here, as an alert.
      if (outcome.kind === 'created' && error instanceof KlearIdTaken) {
        return this.repository.fencedTransaction(lease, (m) => this.applyOutcome(m, id, attempt, outcome, postedAt, true));
      }
      throw error;
    }
  }

  private async applyOutcome(
    m: WithdrawalTx,
    id: string,
    attempt: WithdrawalAttempt,
    outcome: SubmissionOutcome,
    postedAt: Date | null,
    conflictSeen = false,
  ): Promise<string> {
    const request = await this.repository.lockRequest(m, id);
    if (!request) throw new Error(`withdrawal ${id} vanished during submission`);
    if (request.state !== 'submitting') return 'skipped';
    const finishedAt = this.clock.now();
    if (outcome.kind === 'not_sent') {
      await this.repository.updateAttempt(m, attempt.id, {
        state: 'abandoned',
        finishedAt,
        error: `not sent: ${outcome.message}`,
        resolution: { conclusion: 'abandoned', source: 'not_sent', posted_record: postedAt?.toISOString() ?? null },
      });
      await this.transitions.apply(m, request, 'approved', {
        actor: EXECUTOR_ACTOR,
        reason: `the POST provably never left (${outcome.message}); the approvals still count, the next run tries again`,
        details: { attempt_no: attempt.attemptNo },
      });
      return 'not_sent';
    }
    if (outcome.kind === 'created') {
      const heldBy =
        (await this.repository.requestHoldingKlearId(m, outcome.klearId, id)) ??
        (conflictSeen ? 'another request (refused by the unique index)' : null);
      if (heldBy !== null) {
        const why = `Klear answered with withdrawal id ${outcome.klearId}, already held by withdrawal request ${heldBy}`;
        await this.repository.updateAttempt(m, attempt.id, { state: 'outcome_unknown', error: why });
        await this.transitions.apply(m, request, 'outcome_unknown', {
          actor: EXECUTOR_ACTOR,
          reason: why,
          details: { attempt_no: attempt.attemptNo, klear_withdrawal_id: outcome.klearId, held_by: heldBy },
        });
        await this.attention.raise(m, request, 'klear_id_conflict', EXECUTOR_ACTOR, {
          klear_withdrawal_id: outcome.klearId,
          held_by: heldBy,
          attempt_no: attempt.attemptNo,
        });
        return 'outcome_unknown';
      }
      await this.repository.updateAttempt(m, attempt.id, {
        state: 'submitted',
        finishedAt,
        klearWithdrawalId: outcome.klearId,
        resolution: { conclusion: 'submitted', source: 'klear_answer' },
      });
      await this.transitions.apply(m, request, 'submitted', {
        actor: EXECUTOR_ACTOR,
        reason: 'Klear accepted the withdrawal',
        details: { attempt_no: attempt.attemptNo, klear_withdrawal_id: outcome.klearId },
        set: { klearWithdrawalId: outcome.klearId, submittedAt: finishedAt, klearStatus: 'pending' },
      });
      await this.klearWithdrawals.register(m, { id: outcome.klearId, amountCenticents: request.amountCenticents });
      return 'submitted';
    }
    if (outcome.kind === 'unknown') {
      await this.repository.updateAttempt(m, attempt.id, { state: 'outcome_unknown', error: outcome.message });
      await this.transitions.apply(m, request, 'outcome_unknown', {
        actor: EXECUTOR_ACTOR,
        reason: outcome.message,
        details: { attempt_no: attempt.attemptNo },
      });
      return 'outcome_unknown';
    }
    // Klear answered the POST with a refusal: it did not act. Sending again is a second POST, which
    // only a fresh approval round (people who see this attempt and Klear's answer) may allow.
    const why = `Klear refused it (${outcome.status}${outcome.code ? ` ${outcome.code}` : ''}): ${outcome.message}`;
    await this.repository.updateAttempt(m, attempt.id, {
      state: 'not_submitted',
      finishedAt,
      error: why,
      resolution: { conclusion: 'not_submitted', source: 'refused' },
    });
    await this.transitions.apply(m, request, 'not_submitted', {
      actor: EXECUTOR_ACTOR,
      reason: why,
      details: { attempt_no: attempt.attemptNo },
    });
    await this.resolver.startNewRound(m, request, 'Klear refused the POST: a fresh approval round is needed to send it again');
    return 'not_submitted';
  }
}
