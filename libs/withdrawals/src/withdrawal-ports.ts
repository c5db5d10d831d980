/**
 * What the withdrawal workflow needs from Klear and from ingested Klear data, as narrow ports:
 * the workflow's logic is written against these, and adapters bind them to the KlearClient and the
 * ingestion tables (klear-adapters.ts).
 */

export interface BufferBalanceReading {
  available: bigint;
  locked: bigint;
  pulledAt: Date;
}

export interface KlearBalanceMovement {
  balanceDelta: bigint;
  lockedDelta: bigint;
  reason: string;
  businessTransactionId: string;
  /** RFC 3339 as Klear wrote it (Klear's clock, not ours). */
  createdTs: string;
}

export type KlearWithdrawalStatusName = 'pending' | 'processing' | 'processed' | 'failed';

export interface KlearWithdrawalView {
  id: string;
  amount: bigint;
  status: KlearWithdrawalStatusName;
  createdTs: string;
}

/** The outcome of the one POST, classified so that nothing is ever re-sent on a guess. */
export type SubmissionOutcome =
  | { kind: 'created'; klearId: string }
  /** Klear answered with a 4xx: it did not act on the request. */
  | { kind: 'refused'; status: number; code: string | null; message: string }
  /** The request never left this process (circuit open, no connection made). */
  | { kind: 'not_sent'; message: string }
  /** Timeout, reset after sending, 5xx, unreadable answer: Klear may or may not have acted. */
  | { kind: 'unknown'; message: string };

export interface WithdrawalKlearPort {
  readBalance(): Promise<BufferBalanceReading>;
  /** Never retried; never throws for a Klear outcome (see SubmissionOutcome). */
  submitWithdrawal(amount: bigint): Promise<SubmissionOutcome>;
  /** Throws when Klear does not know the id or cannot be read. */
  getWithdrawal(id: string): Promise<KlearWithdrawalView>;
  /** One page of balance history, most recent first; no cursor in the answer = last page. */
  balanceHistoryPage(cursor?: string): Promise<{ entries: KlearBalanceMovement[]; cursor?: string }>;
}

export const WITHDRAWAL_KLEAR_PORT = Symbol('WITHDRAWAL_KLEAR_PORT');

export interface ObligationReading {
  id: string;
  /** Signed: negative = the member pays Klear. */
  amountCenticents: bigint;
}

export interface EstimateReading {
  /** Signed total of the member's (user_breakdown) estimate: negative = the member will pay. */
  totalAmountCenticents: bigint;
  pulledAt: Date;
}

/** The latest buffer position as ingested, with a way to refresh the balance when it is stale. */
export interface BufferPositionSource {
  latestBalance(): Promise<BufferBalanceReading | null>;
  /** Reads the balance from Klear now and keeps it as a snapshot. */
  refreshBalance(): Promise<BufferBalanceReading>;
  /** The active obligation, or null when none is pending. */
  activeObligation(): Promise<ObligationReading | null>;
  latestEstimate(): Promise<EstimateReading | null>;
}

export const BUFFER_POSITION_SOURCE = Symbol('BUFFER_POSITION_SOURCE');

/** Raises a failed withdrawal to operators (the webhook). Must never carry secrets. */
export interface WithdrawalAlertSink {
  send(alert: { event: string; withdrawal_id: string; amount_centicents: string; amount_usd: string; klear_withdrawal_id: string | null; reason: string }): Promise<void>;
}

export const WITHDRAWAL_ALERT_SINK = Symbol('WITHDRAWAL_ALERT_SINK');

/** Points in the executor where a drill can kill the process (crash-matrix tests). */
export type ExecutorCrashPoint = 'after_submitting_committed' | 'after_klear_answered';

export interface ExecutorHooks {
  at?(point: ExecutorCrashPoint): Promise<void> | void;
}

export const EXECUTOR_HOOKS = Symbol('EXECUTOR_HOOKS');
