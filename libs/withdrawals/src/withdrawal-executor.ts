import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { WithdrawalAttempt } from '@app/db';
import { BufferHeadroomService } from './buffer-headroom.service';
import { readHistoryHead } from './balance-history-walk';
import type { HeadroomResult } from './headroom-check';
import { WithdrawalDecisionService, progressOf } from './withdrawal-decision.service';
import { EXECUTOR_ACTOR, WithdrawalOutcomeResolver } from './withdrawal-outcome-resolver';
import { policyFromSnapshot, type PolicySnapshotJson } from './withdrawal-policy';
import { EXECUTOR_HOOKS, type ExecutorHooks, type SubmissionOutcome, WITHDRAWAL_KLEAR_PORT, type WithdrawalKlearPort } from './withdrawal-ports';
import { WithdrawalTransitions } from './withdrawal-transitions';
import { WithdrawalRepository } from './withdrawal.repository';

/** Session advisory lock held for a whole executor run ("klear-wdexec"): one submitter at a time. */
const SUBMISSION_LOCK = '1801676134';

export interface ExecutorRunSummary {
  ran: boolean;
  recovered: number;
  resolved: { submitted: number; not_submitted: number; still_unknown: number };
  submitted: number;
  outcomeUnknown: number;
  notSubmitted: number;
  held: number;
  returnedForApproval: number;
  expired: number;
}

/**
 * Sends approved withdrawals to Klear, exactly once each. For every approved request: re-check
 * expiry, policy and headroom on a freshly read balance; COMMIT `submitting` with an attempt row;
 * THEN POST; THEN commit what Klear said. A crash or an unknown answer between the two commits
 * leaves the attempt open, and only WithdrawalOutcomeResolver may close it, from Klear's records.
 */
@Injectable()
export class WithdrawalExecutor {
  private readonly logger = new Logger('WithdrawalExecutor');

  constructor(
    private readonly repository: WithdrawalRepository,
    private readonly transitions: WithdrawalTransitions,
    private readonly headroom: BufferHeadroomService,
    private readonly decisions: WithdrawalDecisionService,
    private readonly resolver: WithdrawalOutcomeResolver,
    @Inject(WITHDRAWAL_KLEAR_PORT) private readonly klear: WithdrawalKlearPort,
    @Optional() @Inject(EXECUTOR_HOOKS) private readonly hooks?: ExecutorHooks,
  ) {}

  async runOnce(): Promise<ExecutorRunSummary> {
    const summary: ExecutorRunSummary = {
      ran: false,
      recovered: 0,
      resolved: { submitted: 0, not_submitted: 0, still_unknown: 0 },
      submitted: 0,
      outcomeUnknown: 0,
      notSubmitted: 0,
      held: 0,
      returnedForApproval: 0,
      expired: 0,
    };
    // Its own lock, whatever runs it (job framework, drill, test): a dedicated connection, so the
    // lock dies with the process.
    const runner = this.repository.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = (await runner.query('SELECT pg_try_advisory_lock($1::bigint) AS locked', [SUBMISSION_LOCK])) as Array<{ locked: boolean }>;
      if (!locked) return summary;
      summary.ran = true;
      try {
        summary.recovered = await this.recoverInterrupted();
        summary.resolved = await this.resolver.resolveAll();
        for (const id of await this.repository.idsInStates(['approved'])) {
          const result = await this.execute(id);
          if (result === 'submitted') summary.submitted += 1;
          else if (result === 'outcome_unknown') summary.outcomeUnknown += 1;
          else if (result === 'not_submitted') summary.notSubmitted += 1;
          else if (result === 'held') summary.held += 1;
          else if (result === 'pending_approval') summary.returnedForApproval += 1;
          else if (result === 'expired') summary.expired += 1;
        }
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1::bigint)', [SUBMISSION_LOCK]).catch(() => undefined);
      }
      return summary;
    } finally {
      await runner.release();
    }
  }

  /** Attempts left `submitting` by a process that died mid-way: their outcome is unknown. */
  private async recoverInterrupted(): Promise<number> {
    let count = 0;
    for (const id of await this.repository.idsInStates(['submitting'])) {
      await this.repository.transaction(async (m) => {
        const request = await this.repository.lockRequest(m, id);
        if (!request || request.state !== 'submitting') return;
        const attempt = await this.repository.openAttempt(m, id);
        if (attempt) {
          await this.repository.updateAttempt(m, attempt.id, { state: 'outcome_unknown', error: 'the executor stopped between committing submitting and recording Klear\'s answer' });
        }
        await this.transitions.apply(m, request, 'outcome_unknown', {
          actor: EXECUTOR_ACTOR,
          reason: 'found submitting at executor start: the previous executor stopped mid-submission',
          details: { attempt_no: attempt?.attemptNo ?? null },
        });
        count += 1;
      });
    }
    return count;
  }

  private async execute(id: string): Promise<string> {
    const request = await this.repository.findRequest(id);
    if (!request || request.state !== 'approved') return 'skipped';
    const policy = policyFromSnapshot(request.policySnapshot as unknown as PolicySnapshotJson);
    let check: HeadroomResult;
    let head;
    try {
      check = await this.headroom.assess(request.amountCenticents, policy.reserveFloorCenticents, { executing: { id, createdAt: request.createdAt }, forceRefresh: true });
      head = await readHistoryHead(this.klear);
    } catch (error) {
      // Klear cannot be read: nothing is sent without fresh figures; the next run tries again.
      this.logger.warn(`withdrawal ${id}: not submitted this run, Klear figures unavailable: ${error instanceof Error ? error.message : String(error)}`);
      return 'skipped';
    }

    const started = await this.repository.transaction(async (m): Promise<WithdrawalAttempt | string> => {
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
          await this.transitions.note(m, locked, 'held', { actor: EXECUTOR_ACTOR, reason: 'not enough headroom to submit now; retried on later runs until it expires', details: check.figures });
        }
        return 'held';
      }
      const attempt = await this.repository.insertAttempt(m, {
        requestId: id,
        attemptNo: await this.repository.nextAttemptNo(m, id),
        state: 'submitting',
        startedAt: new Date(),
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
        details: { attempt_no: attempt.attemptNo, headroom: check.figures },
        set: { executionHold: null },
      });
      return attempt;
    });
    if (typeof started === 'string') return started;

    await this.hooks?.at?.('after_submitting_committed');
    const outcome = await this.klear.submitWithdrawal(request.amountCenticents);
    await this.hooks?.at?.('after_klear_answered');
    return this.recordOutcome(id, started, outcome);
  }

  private async recordOutcome(id: string, attempt: WithdrawalAttempt, outcome: SubmissionOutcome): Promise<string> {
    return this.repository.transaction(async (m) => {
      const request = await this.repository.lockRequest(m, id);
      if (!request) throw new Error(`withdrawal ${id} vanished during submission`);
      const finishedAt = new Date();
      if (outcome.kind === 'created') {
        await this.repository.updateAttempt(m, attempt.id, { state: 'submitted', finishedAt, klearWithdrawalId: outcome.klearId, resolution: { conclusion: 'submitted', source: 'klear_answer' } });
        await this.transitions.apply(m, request, 'submitted', {
          actor: EXECUTOR_ACTOR,
          reason: 'Klear accepted the withdrawal',
          details: { attempt_no: attempt.attemptNo, klear_withdrawal_id: outcome.klearId },
          set: { klearWithdrawalId: outcome.klearId, submittedAt: finishedAt, klearStatus: 'pending' },
        });
        await this.repository.registerKlearWithdrawal(m, outcome.klearId, request.amountCenticents);
        return 'submitted';
      }
      if (outcome.kind === 'unknown') {
        await this.repository.updateAttempt(m, attempt.id, { state: 'outcome_unknown', error: outcome.message });
        await this.transitions.apply(m, request, 'outcome_unknown', { actor: EXECUTOR_ACTOR, reason: outcome.message, details: { attempt_no: attempt.attemptNo } });
        return 'outcome_unknown';
      }
      // Klear refused it, or it never left this process: provably nothing was created.
      const why = outcome.kind === 'refused' ? `Klear refused it (${outcome.status}${outcome.code ? ` ${outcome.code}` : ''}): ${outcome.message}` : `not sent: ${outcome.message}`;
      await this.repository.updateAttempt(m, attempt.id, { state: 'not_submitted', finishedAt, error: why, resolution: { conclusion: 'not_submitted', source: outcome.kind } });
      await this.transitions.apply(m, request, 'not_submitted', { actor: EXECUTOR_ACTOR, reason: why, details: { attempt_no: attempt.attemptNo } });
      await this.resolver.startNewRound(m, request, 'not submitted: a fresh approval round is needed to send it');
      return 'not_submitted';
    });
  }
}
