import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '@app/auth';
import { Clock } from '@app/clock';
import type { WithdrawalManualResolution, WithdrawalRequest } from '@app/db';
import { BusinessRuleViolation, Conflict, DomainError, NotFound } from '@app/errors';
import { KlearWithdrawalRepository } from '@app/ingestion';
import { WithdrawalAttention } from './withdrawal-attention.service';
import { KlearIdTaken } from './withdrawal-errors';
import { WithdrawalOutcomeResolver } from './withdrawal-outcome-resolver';
import { WITHDRAWAL_KLEAR_PORT, type WithdrawalKlearPort } from './withdrawal-ports';
import type { WithdrawalState } from './withdrawal-states';
import { WithdrawalTransitions } from './withdrawal-transitions';
import { WithdrawalRepository, type WithdrawalTx } from './withdrawal.repository';

export class ResolutionNotAllowed extends DomainError {
  constructor(id: string, why: string) {
    super('WITHDRAWAL_RESOLUTION_FORBIDDEN', 'forbidden', `withdrawal ${id}: ${why}`, { id });
  }
}

export interface ManualResolutionInput {
  conclusion: 'submitted' | 'not_submitted';
  klearWithdrawalId?: string;
  reason: string;
}

/**
 * A person settles a request whose outcome is unknown, after reading Klear's records, under dual
 * control: one approver or admin proposes "submitted, Klear id X" or "never arrived", another one
 * (never the proposer, never the requester) confirms. "Never arrived" opens a fresh approval round:
 * the only way a request gets a second POST. An id another request holds is refused at both steps.
 */
@Injectable()
export class WithdrawalManualResolutions {
  constructor(
    private readonly repository: WithdrawalRepository,
    private readonly transitions: WithdrawalTransitions,
    private readonly klearWithdrawals: KlearWithdrawalRepository,
    private readonly resolver: WithdrawalOutcomeResolver,
    private readonly attention: WithdrawalAttention,
    private readonly clock: Clock,
    @Inject(WITHDRAWAL_KLEAR_PORT) private readonly klear: WithdrawalKlearPort,
  ) {}

  async propose(id: string, who: Principal, input: ManualResolutionInput, requestBody: unknown): Promise<WithdrawalManualResolution> {
    return this.repository.transaction(async (m) => {
      const { request, attemptId } = await this.lockUnknown(m, id, who);
      if (input.conclusion === 'submitted') await this.assertIdFree(m, request, input.klearWithdrawalId as string);
      const pending = await this.repository.pendingResolution(m, id);
      if (pending)
        throw new Conflict(
          'WITHDRAWAL_RESOLUTION_PENDING',
          `withdrawal ${id} already has a resolution waiting for confirmation (${pending.id}): confirm or reject it first`,
          { resolution_id: pending.id },
        );
      const row = await this.repository.insertResolution(m, {
        requestId: id,
        attemptId,
        conclusion: input.conclusion,
        klearWithdrawalId: input.conclusion === 'submitted' ? (input.klearWithdrawalId as string) : null,
        reason: input.reason,
        state: 'pending',
        proposedBy: who.userId,
        proposedByName: who.name,
        proposedAt: this.clock.now(),
        decidedBy: null,
        decidedByName: null,
        decidedAt: null,
        decisionReason: null,
      });
      await this.transitions.note(m, request, 'resolution_proposed', {
        actor: who.name,
        reason: input.reason,
        details: { resolution_id: row.id, conclusion: row.conclusion, klear_withdrawal_id: row.klearWithdrawalId, attempt_id: attemptId },
        requestBody,
      });
      return row;
    });
  }

  async confirm(
    id: string,
    who: Principal,
    requestBody: unknown,
  ): Promise<{ resolution: WithdrawalManualResolution; request: WithdrawalRequest }> {
    // "Submitted with Klear id X": Klear's status endpoint must know X, for this request's amount.
    const pending = await this.repository.pendingResolution(null, id);
    const request = await this.repository.findRequest(id);
    if (pending?.klearWithdrawalId && request) {
      await this.assertIdFree(null, request, pending.klearWithdrawalId);
      let lookup: Awaited<ReturnType<WithdrawalKlearPort['lookupWithdrawal']>>;
      try {
        lookup = await this.klear.lookupWithdrawal(pending.klearWithdrawalId);
      } catch (error) {
        throw new DomainError(
          'KLEAR_UNAVAILABLE',
          'unavailable',
          `Klear's status endpoint could not confirm withdrawal ${pending.klearWithdrawalId} now: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      const found = lookup.found ? lookup.view : null;
      if (!found || found.amount !== request.amountCenticents) {
        throw new BusinessRuleViolation(
          'KLEAR_ID_NOT_CONFIRMED',
          `Klear's status endpoint ${found ? `shows withdrawal ${pending.klearWithdrawalId} for another amount (${found.amount} centicents)` : `does not know withdrawal ${pending.klearWithdrawalId}`}: reject this resolution and propose the right id`,
          {
            klear_withdrawal_id: pending.klearWithdrawalId,
            klear_amount_centicents: found ? found.amount.toString() : null,
            amount_centicents: request.amountCenticents.toString(),
          },
        );
      }
    }
    try {
      return await this.confirmOnce(id, who, requestBody, pending);
    } catch (error) {
      // Two requests settled with one Klear id at the same moment: the unique index lets one win.
      if (error instanceof KlearIdTaken)
        throw new Conflict(
          'KLEAR_ID_HELD',
          `that Klear withdrawal id was just given to another request: one Klear withdrawal settles one request`,
          { id },
        );
      throw error;
    }
  }

  private async confirmOnce(
    id: string,
    who: Principal,
    requestBody: unknown,
    pending: WithdrawalManualResolution | null,
  ): Promise<{ resolution: WithdrawalManualResolution; request: WithdrawalRequest }> {
    return this.repository.transaction(async (m) => {
      const { request, attemptId } = await this.lockUnknown(m, id, who);
      const row = await this.lockPending(m, id);
      if (row.id !== pending?.id)
        throw new Conflict('WITHDRAWAL_RESOLUTION_STALE', `the pending resolution of withdrawal ${id} changed meanwhile: look again`);
      if (row.proposedBy === who.userId)
        throw new ResolutionNotAllowed(id, 'the person who proposed a resolution cannot confirm it; another approver or admin must');
      if (row.attemptId !== attemptId)
        throw new Conflict('WITHDRAWAL_RESOLUTION_STALE', `the resolution was proposed for another attempt of withdrawal ${id}`);
      const now = this.clock.now();
      const details = { resolution_id: row.id, proposed_by: row.proposedByName, confirmed_by: who.name, reason: row.reason };
      if (row.conclusion === 'submitted') {
        const klearId = row.klearWithdrawalId as string;
        await this.assertIdFree(m, request, klearId);
        const resolution = { conclusion: 'submitted', source: 'manual', klear_withdrawal_id: klearId, ...details };
        await this.repository.updateAttempt(m, attemptId, { state: 'submitted', finishedAt: now, klearWithdrawalId: klearId, resolution });
        await this.transitions.apply(m, request, 'submitted', {
          actor: `${row.proposedByName}+${who.name}`,
          reason: `settled by people from Klear's records: Klear withdrawal ${klearId}`,
          details: resolution,
          requestBody,
          set: { klearWithdrawalId: klearId, submittedAt: now, klearStatus: null },
        });
        // From now on the poller follows it at Klear (an id Klear does not know is flagged by tracking).
        await this.klearWithdrawals.register(m, { id: klearId, amountCenticents: request.amountCenticents });
      } else {
        const resolution = { conclusion: 'not_submitted', source: 'manual', ...details };
        await this.repository.updateAttempt(m, attemptId, { state: 'not_submitted', finishedAt: now, resolution });
        await this.transitions.apply(m, request, 'not_submitted', {
          actor: `${row.proposedByName}+${who.name}`,
          reason: `settled by people from Klear's records: never arrived`,
          details: resolution,
          requestBody,
        });
        await this.resolver.startNewRound(
          m,
          request,
          'people found it never arrived at Klear: a fresh approval round decides whether to send it again',
        );
      }
      await this.attention.clear(m, request, who.name, `settled by ${row.proposedByName} and ${who.name}`);
      row.state = 'confirmed';
      row.decidedBy = who.userId;
      row.decidedByName = who.name;
      row.decidedAt = now;
      await this.repository.saveResolution(m, row);
      return { resolution: row, request };
    });
  }

  /** Any approver or admin (the proposer too) turns a proposed resolution down. */
  async reject(id: string, who: Principal, reason: string, requestBody: unknown): Promise<WithdrawalManualResolution> {
    return this.repository.transaction(async (m) => {
      const request = await this.repository.lockRequest(m, id);
      if (!request) throw new NotFound('withdrawal', id);
      const row = await this.lockPending(m, id);
      row.state = 'rejected';
      row.decidedBy = row.proposedBy === who.userId ? null : who.userId;
      row.decidedByName = who.name;
      row.decidedAt = this.clock.now();
      row.decisionReason = reason;
      await this.repository.saveResolution(m, row);
      await this.transitions.note(m, request, 'resolution_rejected', {
        actor: who.name,
        reason,
        details: { resolution_id: row.id },
        requestBody,
      });
      return row;
    });
  }

  list(requestId: string): Promise<WithdrawalManualResolution[]> {
    return this.repository.resolutionsOf(requestId);
  }

  private async lockUnknown(m: WithdrawalTx, id: string, who: Principal): Promise<{ request: WithdrawalRequest; attemptId: string }> {
    const request = await this.repository.lockRequest(m, id);
    if (!request) throw new NotFound('withdrawal', id);
    if (request.requesterId === who.userId) throw new ResolutionNotAllowed(id, 'the requester never settles their own request');
    if (request.state !== 'outcome_unknown') {
      throw new Conflict(
        'WITHDRAWAL_NOT_OUTCOME_UNKNOWN',
        `withdrawal ${id} is ${request.state as WithdrawalState}: only a request whose outcome is unknown is settled by people`,
        { id, state: request.state },
      );
    }
    const attempt = await this.repository.openAttempt(m, id);
    if (!attempt) throw new Conflict('WITHDRAWAL_NOT_OUTCOME_UNKNOWN', `withdrawal ${id} has no open attempt`, { id });
    return { request, attemptId: attempt.id };
  }

  private async lockPending(m: WithdrawalTx, id: string): Promise<WithdrawalManualResolution> {
    const row = await this.repository.lockPendingResolution(m, id);
    if (!row) throw new Conflict('WITHDRAWAL_NO_PENDING_RESOLUTION', `withdrawal ${id} has no resolution waiting for confirmation`, { id });
    return row;
  }

  private async assertIdFree(m: WithdrawalTx | null, request: WithdrawalRequest, klearId: string): Promise<void> {
    const heldBy = await this.repository.requestHoldingKlearId(m, klearId, request.id);
    if (heldBy) {
      throw new Conflict(
        'KLEAR_ID_HELD',
        `Klear withdrawal ${klearId} already belongs to withdrawal request ${heldBy}: one Klear withdrawal settles one request`,
        { klear_withdrawal_id: klearId, held_by: heldBy },
      );
    }
  }
}
