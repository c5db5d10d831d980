import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import type { WithdrawalAttempt, WithdrawalRequest } from '@app/db';
import { KlearWithdrawalRepository } from '@app/ingestion';
import { type HistoryHead, movementsSince } from './balance-history-walk';
import type { ExecutorLease } from './executor-lease.repository';
import { WithdrawalAttention } from './withdrawal-attention.service';
import { ExecutorFenced } from './withdrawal-errors';
import { type KlearBalanceMovement, type KlearWithdrawalView, WITHDRAWAL_KLEAR_PORT, type WithdrawalKlearPort } from './withdrawal-ports';
import { WithdrawalTransitions } from './withdrawal-transitions';
import { WithdrawalRepository, type WithdrawalTx } from './withdrawal.repository';

export const EXECUTOR_ACTOR = 'withdrawal_executor';

export type Resolution = 'submitted' | 'not_submitted' | 'still_unknown';
export type ResolutionCounts = Record<Resolution, number>;

/** At most this many new references in balance history are looked up per resolution (more: ambiguous). */
const MAX_LOOKUPS = 50;

/** A withdrawal Klear holds (confirmed by its status endpoint), as evidence. */
interface SeenWithdrawal {
  id: string;
  amount: string;
  status: string;
  created_ts: string;
  /** Balance history shows it locking the amount and debiting it: supporting evidence only. */
  history_lock: boolean;
}

/**
 * Settles an `outcome_unknown` submission from Klear's own records, never by sending again.
 * Evidence, strongest first:
 * 1. a withdrawal id Klear answered the POST with (withdrawal_klear_answer), confirmed by the status
 *    endpoint (`GET /margin/settlement_balance_withdrawal?id=`) with this amount;
 * 2. the withdrawals that appeared in Klear's balance history since just before the POST, each looked
 *    up by its reference on the status endpoint: exactly one unclaimed one of this amount, and no other
 *    unresolved attempt of the same amount, is this attempt's. A history entry's shape (lock +amount,
 *    debit -amount) is recorded as supporting evidence, never required nor sufficient.
 * Withdrawals of another amount are someone else's (the Klear portal) and are never claimed. Two
 * candidates, or candidates and competing attempts, are ambiguous: the request stays `outcome_unknown`
 * and is flagged for a person. No candidate proves nothing was created only once history was walked
 * completely, the locked balance does not contradict it, and the grace period, counted from the
 * fenced record that the POST was leaving, is over.
 */
@Injectable()
export class WithdrawalOutcomeResolver {
  private readonly logger = new Logger('WithdrawalOutcome');

  constructor(
    private readonly repository: WithdrawalRepository,
    private readonly transitions: WithdrawalTransitions,
    private readonly klearWithdrawals: KlearWithdrawalRepository,
    private readonly attention: WithdrawalAttention,
    private readonly clock: Clock,
    @Inject(WITHDRAWAL_KLEAR_PORT) private readonly klear: WithdrawalKlearPort,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async resolveAll(lease: ExecutorLease): Promise<ResolutionCounts> {
    const counts = { submitted: 0, not_submitted: 0, still_unknown: 0 };
    for (const id of await this.repository.outcomeUnknownIds()) {
      try {
        counts[await this.resolve(id, lease)] += 1;
      } catch (error) {
        if (error instanceof ExecutorFenced) throw error;
        counts.still_unknown += 1;
        this.logger.warn(
          `withdrawal ${id}: outcome still unknown, Klear records not readable: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    return counts;
  }

  async resolve(id: string, lease: ExecutorLease): Promise<Resolution> {
    const before = await this.repository.findRequest(id);
    if (!before || before.state !== 'outcome_unknown') return 'still_unknown';
    const attempt = await this.repository.openAttempt(null, id);
    if (!attempt) throw new Error(`withdrawal ${id} is outcome_unknown without an open attempt`);
    const amount = before.amountCenticents;

    // 1. The ids Klear answered this attempt's POST with.
    const answered = [
      ...new Set(
        (await this.repository.answersOfAttempt(attempt.id)).map((a) => a.klearWithdrawalId).filter((k): k is string => k !== null),
      ),
    ];
    if (answered.length > 0) {
      const lookups = await Promise.all(answered.map(async (klearId) => ({ klearId, lookup: await this.klear.lookupWithdrawal(klearId) })));
      const confirmed = lookups
        .filter((l) => l.lookup.found && l.lookup.view.amount === amount)
        .map((l) => (l.lookup as { view: KlearWithdrawalView }).view);
      return this.repository.fencedTransaction(lease, async (m) => {
        const request = await this.repository.lockRequest(m, id);
        if (!request || request.state !== 'outcome_unknown') return 'still_unknown';
        const evidence = {
          source: 'klear_answer',
          answered_ids: answered,
          confirmed_ids: confirmed.map((v) => v.id),
          checked_at: this.clock.now().toISOString(),
        };
        if (confirmed.length !== 1) {
          await this.repository.updateAttempt(m, attempt.id, { resolution: { ...evidence, conclusion: 'still_unknown' } });
          await this.attention.raise(m, request, 'klear_id_unconfirmed', EXECUTOR_ACTOR, { attempt_no: attempt.attemptNo, ...evidence });
          return 'still_unknown';
        }
        return this.claim(m, request, attempt, confirmed[0], { ...evidence, history_lock: null });
      });
    }

    // 2. Klear's records since just before the POST. Read before the transaction: no row lock is held across Klear calls.
    const balance = await this.klear.readBalance();
    const walk = await movementsSince(this.klear, attempt.historyHeadBefore as unknown as HistoryHead);
    const claimedBefore = await this.repository.claimedKlearReferences(null);
    const references = [...new Set(walk.entries.map((e) => e.businessTransactionId))].filter((ref) => !claimedBefore.has(ref));
    const seen: SeenWithdrawal[] = [];
    for (const ref of references.slice(0, MAX_LOOKUPS)) {
      const lookup = await this.klear.lookupWithdrawal(ref);
      if (!lookup.found) continue;
      seen.push({
        id: lookup.view.id,
        amount: lookup.view.amount.toString(),
        status: lookup.view.status,
        created_ts: lookup.view.createdTs,
        history_lock: showsLock(walk.entries, lookup.view.id, lookup.view.amount),
      });
    }

    return this.repository.fencedTransaction(lease, async (m) => {
      const request = await this.repository.lockRequest(m, id);
      if (!request || request.state !== 'outcome_unknown') return 'still_unknown';
      const claimed = await this.repository.claimedKlearReferences(m);
      const lockedMovement = walk.entries.reduce((sum, e) => sum + e.lockedDelta, 0n);
      const candidates = seen.filter((w) => w.amount === amount.toString() && !claimed.has(w.id));
      const competing = await this.repository.competingUnresolvedAttempts(m, amount, attempt.id);
      const evidence = {
        source: 'klear_records',
        history_complete: walk.complete,
        new_history_entries: walk.entries.length,
        references_looked_up: Math.min(references.length, MAX_LOOKUPS),
        references_not_looked_up: Math.max(0, references.length - MAX_LOOKUPS),
        candidates: candidates.map((c) => c.id),
        // Withdrawals of another amount appeared meanwhile: made outside the product (the Klear portal), never claimed.
        external_withdrawals: seen.filter((w) => w.amount !== amount.toString() && !claimed.has(w.id)),
        competing_attempts: competing,
        locked_before_centicents: attempt.lockedBeforeCenticents.toString(),
        locked_now_centicents: balance.locked.toString(),
        locked_change_in_history_centicents: lockedMovement.toString(),
        checked_at: this.clock.now().toISOString(),
      };
      if (candidates.length === 1 && competing === 0 && evidence.references_not_looked_up === 0) {
        return this.claim(m, request, attempt, candidates[0], evidence);
      }
      if (candidates.length > 0 || evidence.references_not_looked_up > 0) {
        await this.repository.updateAttempt(m, attempt.id, { resolution: { ...evidence, conclusion: 'ambiguous' } });
        await this.attention.raise(m, request, 'outcome_ambiguous', EXECUTOR_ACTOR, {
          attempt_no: attempt.attemptNo,
          candidates: evidence.candidates,
          competing_attempts: competing,
        });
        return 'still_unknown';
      }
      // The locked balance moved by exactly our amount more than history explains: Klear's records
      // disagree with each other; keep waiting rather than conclude anything.
      const unexplained = balance.locked - attempt.lockedBeforeCenticents - lockedMovement;
      const postedAt = attempt.postedAt ?? attempt.startedAt;
      const ageMs = this.clock.nowMs() - postedAt.getTime();
      if (!walk.complete || unexplained === request.amountCenticents || ageMs < this.config.withdrawals.outcomeGraceSeconds * 1000) {
        await this.repository.updateAttempt(m, attempt.id, {
          resolution: {
            ...evidence,
            conclusion: 'still_unknown',
            unexplained_locked_centicents: unexplained.toString(),
            ms_since_posted: ageMs,
          },
        });
        return 'still_unknown';
      }
      await this.repository.updateAttempt(m, attempt.id, {
        state: 'not_submitted',
        finishedAt: this.clock.now(),
        resolution: {
          ...evidence,
          conclusion: 'not_submitted',
          reason:
            "no withdrawal of this amount in Klear's records after the grace period, counted from the record that the POST was leaving",
        },
      });
      await this.transitions.apply(m, request, 'not_submitted', {
        actor: EXECUTOR_ACTOR,
        reason: 'Klear records show no withdrawal for this attempt',
        details: { attempt_no: attempt.attemptNo, evidence },
      });
      await this.startNewRound(m, request, 'not submitted: a fresh approval round is needed to send it');
      await this.voidOvertakenResolutions(m, request, "Klear's records settled it first: not submitted, a fresh approval round decides");
      return 'not_submitted';
    });
  }

  /** After a proven non-submission: approvals of the old round no longer count; a new expiry runs. */
  async startNewRound(m: WithdrawalTx, request: WithdrawalRequest, reason: string): Promise<void> {
    const expirySeconds = Number((request.policySnapshot as { expiry_seconds: number }).expiry_seconds);
    await this.transitions.apply(m, request, 'pending_approval', {
      actor: EXECUTOR_ACTOR,
      reason,
      details: { approval_round: request.approvalRound + 1 },
      set: {
        approvalRound: request.approvalRound + 1,
        expiresAt: new Date(this.clock.nowMs() + expirySeconds * 1000),
        executionHold: null,
      },
    });
  }

  /** The attempt is Klear withdrawal `found` (confirmed by the status endpoint), unless another request holds that id. */
  private async claim(
    m: WithdrawalTx,
    request: WithdrawalRequest,
    attempt: WithdrawalAttempt,
    found: { id: string; status: string; history_lock?: boolean },
    evidence: Record<string, unknown>,
  ): Promise<Resolution> {
    const heldBy = await this.repository.requestHoldingKlearId(m, found.id, request.id);
    if (heldBy !== null) {
      await this.repository.updateAttempt(m, attempt.id, {
        resolution: { ...evidence, conclusion: 'still_unknown', conflict: { klear_withdrawal_id: found.id, held_by: heldBy } },
      });
      await this.attention.raise(m, request, 'klear_id_conflict', EXECUTOR_ACTOR, {
        klear_withdrawal_id: found.id,
        held_by: heldBy,
        attempt_no: attempt.attemptNo,
      });
      return 'still_unknown';
    }
    const resolution = {
      ...evidence,
      conclusion: 'submitted',
      business_transaction_id: found.id,
      klear_id_confirmed: true,
      history_lock: found.history_lock ?? null,
    };
    const at = this.clock.now();
    await this.repository.updateAttempt(m, attempt.id, { state: 'submitted', finishedAt: at, klearWithdrawalId: found.id, resolution });
    await this.transitions.apply(m, request, 'submitted', {
      actor: EXECUTOR_ACTOR,
      reason:
        evidence.source === 'klear_answer'
          ? "Klear's recorded answer, confirmed by its status endpoint"
          : "found in Klear's records, confirmed by its status endpoint",
      details: { attempt_no: attempt.attemptNo, klear_withdrawal_id: found.id, evidence: resolution },
      set: { klearWithdrawalId: found.id, submittedAt: at, klearStatus: null },
    });
    await this.klearWithdrawals.register(m, { id: found.id, amountCenticents: request.amountCenticents });
    await this.attention.clear(m, request, EXECUTOR_ACTOR, `resolved: Klear withdrawal ${found.id}`);
    await this.voidOvertakenResolutions(m, request, `Klear's records settled it first: submitted as Klear withdrawal ${found.id}`);
    return 'submitted';
  }

  /**
   * People's proposal still waiting for its confirmation when Klear's records settle the request is
   * void (never left pending on a request that is no longer outcome_unknown, where it would block the
   * next proposal); the request's history and the audit log say so.
   */
  private async voidOvertakenResolutions(m: WithdrawalTx, request: WithdrawalRequest, why: string): Promise<void> {
    for (const row of await this.repository.voidPendingResolutions(m, request.id, EXECUTOR_ACTOR, this.clock.now(), why)) {
      await this.transitions.note(m, request, 'resolution_void', {
        actor: EXECUTOR_ACTOR,
        reason: why,
        details: { resolution_id: row.id, conclusion: row.conclusion, klear_withdrawal_id: row.klear_withdrawal_id },
      });
    }
  }
}

function showsLock(entries: KlearBalanceMovement[], id: string, amount: bigint): boolean {
  return entries.some((e) => e.businessTransactionId === id && e.lockedDelta === amount && e.balanceDelta === -amount);
}
