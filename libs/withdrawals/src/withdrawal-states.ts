/**
 * The life of a withdrawal request, and the only transitions it may take. Every state change in
 * the product goes through `assertTransition` (see WithdrawalTransitions), so this table is the
 * whole state machine.
 */
/** The states a withdrawal passes through when nothing goes wrong, in order. */
export const WITHDRAWAL_HAPPY_PATH = ['pending_approval', 'approved', 'submitting', 'submitted', 'processing', 'processed'] as const;

export const WITHDRAWAL_STATES = [
  ...WITHDRAWAL_HAPPY_PATH,
  'rejected',
  'cancelled',
  'expired',
  'failed',
  'outcome_unknown',
  'not_submitted',
] as const;
export type WithdrawalState = (typeof WITHDRAWAL_STATES)[number];

export const ALLOWED_TRANSITIONS: Readonly<Record<WithdrawalState, readonly WithdrawalState[]>> = {
  // pending_approval -> pending_approval never happens; a new approval round starts from not_submitted.
  pending_approval: ['approved', 'rejected', 'cancelled', 'expired'],
  // Back to pending_approval when the approvals on record no longer satisfy the policy at execution.
  // An approver may still reject (or revoke: back to pending_approval) until the executor takes it.
  approved: ['submitting', 'pending_approval', 'rejected', 'cancelled', 'expired'],
  // The POST's outcome: an id (submitted), a definite refusal (not_submitted), or nothing known; back
  // to approved when the POST provably never left (no fenced "posting now" record: abandoned attempt).
  submitting: ['submitted', 'not_submitted', 'outcome_unknown', 'approved'],
  // Resolved only from Klear's own records.
  outcome_unknown: ['submitted', 'not_submitted'],
  // Proven not sent: another POST needs a fresh approval round.
  not_submitted: ['pending_approval'],
  submitted: ['processing', 'processed', 'failed'],
  processing: ['processed', 'failed'],
  processed: [],
  failed: [],
  rejected: [],
  cancelled: [],
  expired: [],
};

/** States in which the money may already be on its way at Klear: no cancel, no expiry. */
export const SUBMISSION_STARTED_STATES: readonly WithdrawalState[] = ['submitting', 'outcome_unknown', 'submitted', 'processing'];

/** Submitted at Klear and not final: reconciliation's "withdrawals in flight" for the locked balance. */
export const LOCKED_AT_KLEAR_STATES: readonly WithdrawalState[] = ['submitted', 'processing'];

export function isTerminal(state: WithdrawalState): boolean {
  return ALLOWED_TRANSITIONS[state].length === 0;
}

export function canTransition(from: WithdrawalState, to: WithdrawalState): boolean {
  return ALLOWED_TRANSITIONS[from].includes(to);
}

export function isWithdrawalState(value: string): value is WithdrawalState {
  return (WITHDRAWAL_STATES as readonly string[]).includes(value);
}
