import { BusinessRuleViolation, Conflict, DomainError, InvalidInput } from '@app/errors';
import type { WithdrawalState } from './withdrawal-states';

export class TransitionNotAllowed extends Conflict {
  constructor(id: string, from: WithdrawalState, to: WithdrawalState) {
    super('WITHDRAWAL_TRANSITION_NOT_ALLOWED', `withdrawal ${id} is ${from}; it cannot become ${to}`, { id, state: from, requested: to });
  }
}

export class WithdrawalNotPending extends Conflict {
  constructor(id: string, state: WithdrawalState) {
    super('WITHDRAWAL_NOT_PENDING', `withdrawal ${id} is ${state}, not pending_approval: it takes no more decisions`, { id, state });
  }
}

export class SelfApprovalForbidden extends DomainError {
  constructor(id: string) {
    super('WITHDRAWAL_SELF_APPROVAL', 'forbidden', `the requester of withdrawal ${id} can never approve or reject it`, { id });
  }
}

export class ApproverGrantedByRequester extends DomainError {
  constructor(id: string) {
    super(
      'WITHDRAWAL_APPROVER_GRANTED_BY_REQUESTER',
      'forbidden',
      `your approval of withdrawal ${id} never counts: you hold the approver role through a proposal its requester made or approved, or you were handed its requester's credential (you invited them or minted their token)`,
      { id },
    );
  }
}

export class NothingToRevoke extends Conflict {
  constructor(id: string) {
    super('WITHDRAWAL_NOTHING_TO_REVOKE', `you have no approval of withdrawal ${id} in force to revoke`, { id });
  }
}

export class CancelForbidden extends DomainError {
  constructor(id: string) {
    super('WITHDRAWAL_CANCEL_FORBIDDEN', 'forbidden', `only the requester of withdrawal ${id} or an admin may cancel it`, { id });
  }
}

export class IdempotencyKeyReused extends Conflict {
  constructor(key: string, existingId: string) {
    super('IDEMPOTENCY_KEY_REUSED', `Idempotency-Key '${key}' was already used for withdrawal ${existingId} with another body`, {
      idempotency_key: key,
      withdrawal_id: existingId,
    });
  }
}

/** The requester's Idempotency-Key was taken by another request meanwhile (the unique index refused this one). */
export class IdempotencyKeyTaken extends Conflict {
  constructor(key: string) {
    super('IDEMPOTENCY_KEY_REUSED', `Idempotency-Key '${key}' was just used for another withdrawal`, { idempotency_key: key });
  }
}

/** A Klear withdrawal id already held by another request or attempt (the unique index refused the write). */
export class KlearIdTaken extends Conflict {
  constructor(klearId: string | null) {
    super('KLEAR_ID_HELD', `Klear withdrawal id ${klearId ?? '(unknown)'} is already held: one Klear withdrawal settles one request`, {
      klear_withdrawal_id: klearId,
    });
  }
}

export class IdempotencyKeyMissing extends InvalidInput {
  constructor(problem: string) {
    super(`Idempotency-Key: ${problem}`, [{ field: 'Idempotency-Key', problems: [problem] }]);
  }
}

export class AmountAboveCap extends BusinessRuleViolation {
  constructor(details: { amount_centicents: string; cap_centicents: string; policy_version: number }) {
    super('WITHDRAWAL_ABOVE_CAP', `the amount exceeds the cap of the withdrawal policy (version ${details.policy_version})`, details);
  }
}

export class InsufficientHeadroom extends BusinessRuleViolation {
  constructor(details: Record<string, unknown>) {
    super(
      'WITHDRAWAL_INSUFFICIENT_HEADROOM',
      'the settlement buffer cannot cover this withdrawal: available - not yet locked withdrawals - reserve must be at least the amount',
      details,
    );
  }
}

export class WithdrawalExpired extends Conflict {
  constructor(id: string) {
    super('WITHDRAWAL_EXPIRED', `withdrawal ${id} expired before this decision`, { id, state: 'expired' });
  }
}

/** Klear could not be read, so a figure the decision needs is missing: refuse rather than guess. */
export class BufferBalanceUnavailable extends DomainError {
  constructor(cause: string) {
    super('KLEAR_UNAVAILABLE', 'unavailable', `the settlement buffer balance could not be refreshed from Klear (${cause}); try again`);
  }
}

/**
 * The executor no longer owns the withdrawals: its lock connection is gone, or another executor
 * took a newer fencing token. It stops at once; whatever it had not recorded, it did not send.
 */
export class ExecutorFenced extends Error {
  readonly code = 'WITHDRAWAL_EXECUTOR_FENCED';
  constructor(
    readonly token: string,
    readonly why: string,
  ) {
    super(`withdrawal executor (fencing token ${token}) stopped: ${why}`);
    this.name = 'ExecutorFenced';
  }
}

/** The executor's lock is not held by the session that took it: a transaction-mode pooler is in the way. */
export class ExecutorNeedsSessionPooling extends Error {
  readonly code = 'WITHDRAWAL_EXECUTOR_NEEDS_SESSION_POOLING';
  constructor() {
    super(
      'the withdrawal executor refuses to start: its advisory lock is not held by the database session that took it, ' +
        'as happens behind a transaction-mode connection pooler; point DATABASE_URL at PostgreSQL or at a session-mode pooler',
    );
    this.name = 'ExecutorNeedsSessionPooling';
  }
}
