import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/config';
import type { WithdrawalAttempt, WithdrawalRequest } from '@app/db';
import type { EntityManager } from 'typeorm';
import { type HistoryHead, movementsSince } from './balance-history-walk';
import { type KlearBalanceMovement, WITHDRAWAL_KLEAR_PORT, type WithdrawalKlearPort } from './withdrawal-ports';
import { WithdrawalTransitions } from './withdrawal-transitions';
import { WithdrawalRepository } from './withdrawal.repository';

export const EXECUTOR_ACTOR = 'withdrawal_executor';

export type Resolution = 'submitted' | 'not_submitted' | 'still_unknown';

/**
 * Settles an `outcome_unknown` submission from Klear's own records, never by sending again:
 * a lock entry of exactly the amount, newer than the balance history seen before the POST and not
 * claimed by any other attempt, proves the withdrawal exists (its id is confirmed with Klear when
 * possible). Its absence proves nothing was created only once history was walked completely, the
 * locked balance does not contradict it, and the POST can no longer land (the grace period).
 */
@Injectable()
export class WithdrawalOutcomeResolver {
  private readonly logger = new Logger('WithdrawalOutcome');

  constructor(
    private readonly repository: WithdrawalRepository,
    private readonly transitions: WithdrawalTransitions,
    @Inject(WITHDRAWAL_KLEAR_PORT) private readonly klear: WithdrawalKlearPort,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async resolveAll(): Promise<Record<Resolution, number>> {
    const counts = { submitted: 0, not_submitted: 0, still_unknown: 0 };
    for (const id of await this.repository.idsInStates(['outcome_unknown'])) {
      try {
        counts[await this.resolve(id)] += 1;
      } catch (error) {
        counts.still_unknown += 1;
        this.logger.warn(`withdrawal ${id}: outcome still unknown, Klear records not readable: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return counts;
  }

  async resolve(id: string): Promise<Resolution> {
    const before = await this.repository.findRequest(id);
    if (!before || before.state !== 'outcome_unknown') return 'still_unknown';
    const attempt = await this.repository.openAttempt(this.repository.dataSource.manager, id);
    if (!attempt) throw new Error(`withdrawal ${id} is outcome_unknown without an open attempt`);
    // Evidence is read before the transaction: no row lock is held across Klear calls.
    const balance = await this.klear.readBalance();
    const walk = await movementsSince(this.klear, attempt.historyHeadBefore as unknown as HistoryHead);
    const unclaimedGuess = await this.repository.claimedKlearReferences(this.repository.dataSource.manager);
    const candidates = this.candidates(walk.entries, before.amountCenticents, unclaimedGuess);
    const confirmed = candidates.length > 0 ? await this.confirm(candidates[0], before.amountCenticents) : null;

    return this.repository.transaction(async (m) => {
      const request = await this.repository.lockRequest(m, id);
      if (!request || request.state !== 'outcome_unknown') return 'still_unknown';
      const claimed = await this.repository.claimedKlearReferences(m);
      const lockedMovement = walk.entries.reduce((sum, e) => sum + e.lockedDelta, 0n);
      const evidence = {
        history_complete: walk.complete,
        new_history_entries: walk.entries.length,
        locked_before_centicents: attempt.lockedBeforeCenticents.toString(),
        locked_now_centicents: balance.locked.toString(),
        locked_change_in_history_centicents: lockedMovement.toString(),
        checked_at: new Date().toISOString(),
      };
      const match = candidates.find((c) => !claimed.has(c.businessTransactionId));
      if (match) {
        const klearId = confirmed && confirmed === match.businessTransactionId ? confirmed : null;
        return this.markSubmitted(m, request, attempt, match, klearId, evidence);
      }
      // The locked balance moved by exactly our amount more than history explains: Klear's records
      // disagree with each other; keep waiting rather than conclude anything.
      const unexplained = balance.locked - attempt.lockedBeforeCenticents - lockedMovement;
      const ageMs = Date.now() - attempt.startedAt.getTime();
      if (!walk.complete || unexplained === request.amountCenticents || ageMs < this.config.withdrawals.outcomeGraceSeconds * 1000) {
        await this.repository.updateAttempt(m, attempt.id, { resolution: { ...evidence, conclusion: 'still_unknown', unexplained_locked_centicents: unexplained.toString() } });
        return 'still_unknown';
      }
      await this.repository.updateAttempt(m, attempt.id, {
        state: 'not_submitted',
        finishedAt: new Date(),
        resolution: { ...evidence, conclusion: 'not_submitted', reason: 'no matching lock in Klear balance history after the grace period' },
      });
      await this.transitions.apply(m, request, 'not_submitted', {
        actor: EXECUTOR_ACTOR,
        reason: 'Klear records show no withdrawal for this attempt',
        details: { attempt_no: attempt.attemptNo, evidence },
      });
      await this.startNewRound(m, request, 'not submitted: a fresh approval round is needed to send it');
      return 'not_submitted';
    });
  }

  /** After a proven non-submission: approvals of the old round no longer count; a new expiry runs. */
  async startNewRound(m: EntityManager, request: WithdrawalRequest, reason: string): Promise<void> {
    const expirySeconds = Number((request.policySnapshot as { expiry_seconds: number }).expiry_seconds);
    await this.transitions.apply(m, request, 'pending_approval', {
      actor: EXECUTOR_ACTOR,
      reason,
      details: { approval_round: request.approvalRound + 1 },
      set: { approvalRound: request.approvalRound + 1, expiresAt: new Date(Date.now() + expirySeconds * 1000), executionHold: null },
    });
  }

  private candidates(entries: KlearBalanceMovement[], amount: bigint, claimed: Set<string>): KlearBalanceMovement[] {
    // Oldest first: when two unknown attempts of one amount exist, the earlier claims the earlier lock.
    return entries
      .filter((e) => e.lockedDelta === amount && e.balanceDelta === -amount && !claimed.has(e.businessTransactionId))
      .sort((a, b) => Date.parse(a.createdTs) - Date.parse(b.createdTs));
  }

  /** The lock entry's reference is the withdrawal id when Klear knows it as one with this amount. */
  private async confirm(entry: KlearBalanceMovement, amount: bigint): Promise<string | null> {
    try {
      const view = await this.klear.getWithdrawal(entry.businessTransactionId);
      return view.amount === amount ? view.id : null;
    } catch {
      return null;
    }
  }

  private async markSubmitted(
    m: EntityManager,
    request: WithdrawalRequest,
    attempt: WithdrawalAttempt,
    match: KlearBalanceMovement,
    klearId: string | null,
    evidence: Record<string, unknown>,
  ): Promise<Resolution> {
    const resolution = {
      ...evidence,
      conclusion: 'submitted',
      business_transaction_id: match.businessTransactionId,
      lock_created_ts: match.createdTs,
      lock_reason: match.reason,
      klear_id_confirmed: klearId !== null,
    };
    await this.repository.updateAttempt(m, attempt.id, { state: 'submitted', finishedAt: new Date(), klearWithdrawalId: klearId, resolution });
    await this.transitions.apply(m, request, 'submitted', {
      actor: EXECUTOR_ACTOR,
      reason: 'found in Klear balance history',
      details: { attempt_no: attempt.attemptNo, klear_withdrawal_id: klearId, evidence: resolution },
      set: { klearWithdrawalId: klearId, submittedAt: new Date(), klearStatus: null },
    });
    if (klearId) await this.repository.registerKlearWithdrawal(m, klearId, request.amountCenticents);
    return 'submitted';
  }
}
