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
  | { kind: 'created'; klearId: string; status: number; body: string }
  /** Klear answered with a 4xx: it did not act on the request. */
  | { kind: 'refused'; status: number; code: string | null; message: string }
  /** The request never left this process (circuit open, no connection made, rate-limit wait refused, fence refused). */
  | { kind: 'not_sent'; message: string }
  /** Timeout, reset after sending, 5xx, unreadable answer: Klear may or may not have acted. */
  | { kind: 'unknown'; message: string; status: number | null };

/**
 * How the executor sends: every wait happens before `beforeSend` (which records "posting now",
 * fenced); after it the POST leaves at once. A wait longer than `maxWaitMs` is refused (not_sent).
 */
export interface SubmissionGuard {
  maxWaitMs: number;
  beforeSend(): Promise<void>;
  onWait?(waitMs: number): void;
}

/** What the status endpoint says about an id: a withdrawal, no withdrawal at all (Klear does not know it), or nothing readable. */
export type WithdrawalLookup = { found: true; view: KlearWithdrawalView } | { found: false; status: number; message: string };

export interface WithdrawalKlearPort {
  readBalance(): Promise<BufferBalanceReading>;
  /** Never retried; never throws for a Klear outcome (see SubmissionOutcome). */
  submitWithdrawal(amount: bigint, guard: SubmissionGuard): Promise<SubmissionOutcome>;
  /** Throws when Klear does not know the id or cannot be read. */
  getWithdrawal(id: string): Promise<KlearWithdrawalView>;
  /** The status endpoint: a 4xx answer means Klear knows no withdrawal of that id; anything else unreadable throws. */
  lookupWithdrawal(id: string): Promise<WithdrawalLookup>;
  /** One page of balance history, most recent first; no cursor in the answer = last page. */
  balanceHistoryPage(cursor?: string): Promise<{ entries: KlearBalanceMovement[]; cursor?: string }>;
}

export const WITHDRAWAL_KLEAR_PORT = Symbol('WITHDRAWAL_KLEAR_PORT');

export interface ObligationReading {
  id: string;
  assetClass: string;
  /** Signed: negative = the member pays Klear. */
  amountCenticents: bigint;
}

export interface EstimateReading {
  /** Per asset class, the signed total of its user_breakdown: negative = the member will pay. */
  byAssetClass: Array<{ assetClass: string; totalAmountCenticents: bigint }>;
  pulledAt: Date;
}

/** The latest buffer position as ingested, with a way to refresh the balance when it is stale. */
export interface BufferPositionSource {
  latestBalance(): Promise<BufferBalanceReading | null>;
  /** Reads the balance from Klear now and keeps it as a snapshot. */
  refreshBalance(): Promise<BufferBalanceReading>;
  /** The active obligation, or null when none is pending. */
  /** Every active obligation (one per asset class; none when nothing is pending). */
  activeObligations(): Promise<ObligationReading[]>;
  latestEstimate(): Promise<EstimateReading | null>;
}

export const BUFFER_POSITION_SOURCE = Symbol('BUFFER_POSITION_SOURCE');

/** A withdrawal a person must look at, as the webhook carries it. Never a secret. */
export interface WithdrawalAlert {
  event: string;
  withdrawal_id: string;
  amount_centicents: string;
  amount_usd: string;
  klear_withdrawal_id: string | null;
  reason: string;
  attention_reason?: string;
  details?: Record<string, unknown>;
}

/** Raises a withdrawal that needs a person to operators (the webhook). Must never carry secrets. */
export interface WithdrawalAlertSink {
  send(alert: WithdrawalAlert): Promise<void>;
}

export const WITHDRAWAL_ALERT_SINK = Symbol('WITHDRAWAL_ALERT_SINK');

/**
 * Every step of the executor, in order, where a drill can kill the process (crash-matrix tests) or an
 * interleaving test can hold it at a barrier, lose its lock, or let another executor run.
 */
export const EXECUTOR_STEPS = [
  'lease_acquired',
  'recovered',
  'resolved',
  'after_submitting_committed',
  'rate_limit_wait',
  'before_posting_record',
  'after_posting_record',
  'after_klear_answered',
  'after_answer_recorded',
  'after_outcome_committed',
] as const;
export type ExecutorCrashPoint = (typeof EXECUTOR_STEPS)[number];

export interface ExecutorStepContext {
  /** The executor's fencing token and the backend pid of its lock connection. */
  token: string;
  lockBackendPid: number;
  requestId?: string;
  attemptId?: string;
}

export interface ExecutorHooks {
  at?(point: ExecutorCrashPoint, context: ExecutorStepContext): Promise<void> | void;
}

export const EXECUTOR_HOOKS = Symbol('EXECUTOR_HOOKS');
