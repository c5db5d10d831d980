/** What each sheet of the daily workbook reads, as the ExportsRepository returns it. Money is bigint centicents. */

export interface CycleRow {
  obligationId: string;
  executionTime: Date;
  amountCenticents: bigint;
  pnlCenticents: bigint;
  feesCenticents: bigint;
  maintenanceMarginCenticents: bigint;
  lastUpdatedTs: Date;
}

/** The reconciliation run a workbook takes a cycle's breaks (and ledger high-water mark) from. */
export interface RunRow {
  runId: string;
  cycle: Date;
  /** journal_entry.ledger_seq the run read up to; null = the whole ledger. */
  ledgerHighWaterMark: string | null;
  finishedAt: Date | null;
}

/** Klear (sum of details) vs internal (ledger) figures for a scope: a cycle, a subtrader, the day. */
export interface FigureComparison {
  klearPnl: bigint;
  klearFees: bigint;
  klearTotal: bigint;
  klearMaintenanceMargin: bigint;
  internalPnl: bigint;
  internalFees: bigint;
  internalTotal: bigint;
  internalMaintenanceMargin: bigint;
}

export interface CycleTotals extends FigureComparison {
  cycle: Date;
}

export interface SubtraderRow extends FigureComparison {
  subtraderId: string;
  knownToKlear: boolean;
  knownToLedger: boolean;
  breakCount: number;
  openBreakCount: number;
}

export interface BalancePoint {
  pulledAt: Date;
  availableCenticents: bigint;
  lockedCenticents: bigint | null;
}

export interface BufferTotals {
  klearMovementCount: number;
  klearMovementsCenticents: bigint;
  internalMovementCount: number;
  internalMovementsCenticents: bigint;
}

/** new = first found by a run of this day; carried_over = found before and still open; closed = closed this day. */
export type BreakDayStatus = 'new' | 'carried_over' | 'closed';

export interface BreakCount {
  check: string;
  dayStatus: BreakDayStatus;
  count: number;
  differenceCenticents: bigint;
}

export interface BreakRow {
  breakId: string;
  key: string;
  check: string;
  reasonCode: string;
  cycle: Date | null;
  subtraderId: string | null;
  marketTicker: string | null;
  klearCenticents: bigint | null;
  internalCenticents: bigint | null;
  differenceCenticents: bigint;
  status: string;
  dayStatus: BreakDayStatus;
  firstSeenAt: Date;
  closedAt: Date | null;
  assignee: string | null;
  lastComment: string | null;
}

export interface WithdrawalDayTotal {
  state: string;
  count: number;
  amountCenticents: bigint;
}

export interface JobHealthRow {
  job: string;
  lastSuccessAt: Date | null;
  lastRunStatus: string | null;
  lastRunAt: Date | null;
}

/** Exact centicents as PostgreSQL prints a bigint: canonical decimal digits, never a float. */
export type CenticentsText = string;

export type DetailMatch = 'matched' | 'mismatch' | 'missing_internal' | 'missing_klear';

/**
 * One row of the million-row sheet. Amounts stay PostgreSQL's exact decimal text (the database
 * computes the difference and the match) so the hot path builds no bigint per cell.
 */
export interface SettlementDetailRow {
  /** The cycle as epoch milliseconds (text): rows of one cycle share one date cell. */
  cycleEpochMs: string;
  subtraderId: string;
  marketTicker: string;
  detailId: string | null;
  klearPnl: CenticentsText | null;
  klearFees: CenticentsText | null;
  klearTotal: CenticentsText | null;
  internalPnl: CenticentsText | null;
  internalFees: CenticentsText | null;
  internalTotal: CenticentsText | null;
  /** klear total - internal total, an absent side counting as zero. */
  totalDifference: CenticentsText;
  match: DetailMatch;
}

export interface BufferMovementRow {
  createdTs: Date | null;
  businessTransactionId: string | null;
  reason: string | null;
  klearDeltaCenticents: bigint | null;
  klearLockedDeltaCenticents: bigint | null;
  internalExternalId: string | null;
  internalEffectiveAt: Date | null;
  internalDescription: string | null;
  internalAmountCenticents: bigint | null;
  breakKey: string | null;
  breakReason: string | null;
  breakStatus: string | null;
}

export interface WithdrawalRow {
  requestId: string;
  createdAt: Date;
  requesterName: string;
  amountCenticents: bigint;
  purpose: string;
  state: string;
  approvals: string;
  klearWithdrawalId: string | null;
  klearStatus: string | null;
  submittedAt: Date | null;
  history: string;
}
