import { Injectable } from '@nestjs/common';
import { AuditService } from '@app/audit';
import type { WithdrawalRequest } from '@app/db';
import { TransitionNotAllowed } from './withdrawal-errors';
import { WithdrawalNotifications } from './withdrawal-notifications';
import { canTransition, type WithdrawalState } from './withdrawal-states';
import { type StateColumns, WithdrawalRepository, type WithdrawalTx } from './withdrawal.repository';

export const WITHDRAWAL_ENTITY = 'withdrawal';

export interface TransitionEvent {
  actor: string;
  reason?: string | null;
  details?: Record<string, unknown> | null;
  /** The API body behind the transition (its SHA-256 goes to the audit row). */
  requestBody?: unknown;
  /** Other columns that change with the state (klear id, expiry of a new round, ...). */
  set?: StateColumns;
}

/**
 * The one place a withdrawal changes state. The caller holds the row lock (lockRequest) in `m`'s
 * transaction; this checks the transition table, writes the state with an optimistic version check,
 * appends the hash-chained audit row, the local history row and the notification (outbox), all in
 * that transaction.
 */
@Injectable()
export class WithdrawalTransitions {
  constructor(
    private readonly repository: WithdrawalRepository,
    private readonly audit: AuditService,
    private readonly notifications: WithdrawalNotifications,
  ) {}

  async apply(m: WithdrawalTx, request: WithdrawalRequest, to: WithdrawalState, event: TransitionEvent): Promise<WithdrawalRequest> {
    const from = request.state as WithdrawalState;
    if (!canTransition(from, to)) throw new TransitionNotAllowed(request.id, from, to);
    const updated = await this.repository.updateState(m, request, to, event.set ?? {});
    // The row lock makes this impossible unless a caller forgot to lock: fail loudly, change nothing.
    if (!updated)
      throw new Error(`withdrawal ${request.id}: lost an update race (state ${from}, version ${request.version}); was the row locked?`);
    await this.record(m, request, `withdrawal.${to}`, from, to, event, true);
    Object.assign(request, event.set ?? {}, { state: to, version: request.version + 1 });
    await this.notifications.stateReached(m, request);
    return request;
  }

  /** The creation row of the history (no from-state). */
  async created(m: WithdrawalTx, request: WithdrawalRequest, event: TransitionEvent): Promise<void> {
    await this.record(m, request, 'withdrawal.requested', null, request.state, event, true);
    await this.notifications.stateReached(m, request);
  }

  /** An audited event that is not a state change (an approval that does not complete the set, a hold). */
  async note(m: WithdrawalTx, request: WithdrawalRequest, action: string, event: Omit<TransitionEvent, 'set'>): Promise<void> {
    await this.record(m, request, `withdrawal.${action}`, request.state, request.state, event, false);
  }

  /** The hash-chained audit row, and for state changes the local history row pointing at it. */
  private async record(
    m: WithdrawalTx,
    request: WithdrawalRequest,
    action: string,
    from: string | null,
    to: string,
    event: Omit<TransitionEvent, 'set'>,
    history: boolean,
  ): Promise<void> {
    const entry = await this.audit.record(
      {
        actor: event.actor,
        action,
        entityType: WITHDRAWAL_ENTITY,
        entityId: request.id,
        fromState: from,
        toState: to,
        reason: event.reason ?? null,
        details: event.details ?? null,
        requestBody: event.requestBody,
      },
      m,
    );
    if (!history) return;
    await this.repository.insertStateChange(m, {
      requestId: request.id,
      fromState: from,
      toState: to,
      actor: event.actor,
      reason: event.reason ?? null,
      details: event.details ?? null,
      at: entry.occurredAt,
      auditSeq: entry.seq,
    });
  }
}
