/** What each sheet of the daily workbook reads, as the WorkbookReadRepository returns it. Money is bigint centicents. */

/** One Klear obligation of the day (a cycle may hold several, one per asset class). */
export interface CycleRow {
  obligationId: string;
  executionTime: Date;
  amountCenticents: bigint;
  pnlCenticents: bigint;
  feesCenticents: bigint;
  maintenanceMarginCenticents: bigint;
  lastUpdatedTs: Date;
  /** Sum of the obligation's settlement details' total as Klear reports it (`total_amount_centicents`). */
  detailsTotalCenticents: bigint;
  /** Sum of its details' pnl - fees: what reconciliation compares with the ledger (equal to the above when Klear is consistent). */
  detailsPnlLessFeesCenticents: bigint;
  /** Sum of its maintenance margin details' delta (an increase is money the member pays). */
  marginDeltaCenticents: bigint;
}

/** The reconciliation run a workbook takes a cycle's breaks (and ledger high-water mark) from. */
export interface RunRow {
  runId: string;
  cycle: Date;
  /** journal_entry.ledger_seq the run read up to; null = the whole ledger. */
  ledgerHighWaterMark: string | null;
  finishedAt: Date | null;
  /** The run's tolerances per check (centicents), as its inputs recorded them. */
  tolerances: Record<string, string>;
  /** What the run tolerated (differences within a check's tolerance, not breaks), per check with any: count and net sum. */
  tolerated: Array<{ check: string; count: number; differenceCenticents: bigint }>;
  /** Entries of this cycle booked after the run: not in the run's (nor the workbook's) figures. */
  laterLedgerEntries: number;
  /** Klear's obligation of the cycle changed (or appeared) after the run read it. */
  klearChangedSince: boolean;
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

/** Every figure zero: where sums start, and a scope with nothing on either side. */
export function zeroComparison(): FigureComparison {
  return {
    klearPnl: 0n,
    klearFees: 0n,
    klearTotal: 0n,
    klearMaintenanceMargin: 0n,
    internalPnl: 0n,
    internalFees: 0n,
    internalTotal: 0n,
    internalMaintenanceMargin: 0n,
  };
}

export interface CycleTotals extends FigureComparison {
  cycle: Date;
}

export interface SubtraderFigures extends FigureComparison {
  subtraderId: string;
  /** The netted subtrader group it belonged to at the day's last cycle (its margin is the group's). */
  groupId?: string | null;
  knownToKlear: boolean;
  knownToLedger: boolean;
}

export interface SubtraderRow extends SubtraderFigures {
  /** Breaks the day's runs found for this subtrader, and those of them still being worked. */
  breakCount: number;
  openBreakCount: number;
  resolvedBreakCount: number;
}

/** The settlement buffer at an instant, derived from Klear's balance history (the sum of every movement before it). */
export interface BufferPoint {
  at: Date;
  availableCenticents: bigint;
  lockedCenticents: bigint;
  movementCount: number;
}

export interface BufferTotals {
  klearMovementCount: number;
  klearMovementsCenticents: bigint;
  internalMovementCount: number;
  internalMovementsCenticents: bigint;
}

/**
 * Why a break is on the day's Breaks sheet: `found` by the run a cycle of the day is read from
 * (whatever its status now), or `closed on the day` (closed by a run or resolved during the day,
 * whichever cycle it belongs to, and not found by those runs).
 */
export type BreakListing = 'found' | 'closed on the day';

/** Statuses of a break still being worked. */
export const OPEN_BREAK_STATUSES: readonly string[] = ['open', 'acknowledged', 'pending_write_off'];

export interface BreakRow {
  breakId: string;
  key: string;
  check: string;
  reasonCode: string;
  cycle: Date | null;
  /** '' for Klear's margin rows without a subtrader id, as on the Subtraders sheet. */
  subtraderId: string | null;
  marketTicker: string | null;
  reference: string | null;
  klearCenticents: bigint | null;
  internalCenticents: bigint | null;
  differenceCenticents: bigint;
  pnlDifferenceCenticents: bigint | null;
  feesDifferenceCenticents: bigint | null;
  /** The break's status when the workbook was built. */
  status: string;
  listing: BreakListing;
  /** The run whose findings list it (`found`), null for `closed on the day`. */
  foundByRun: string | null;
  firstSeenAt: Date;
  closedAt: Date | null;
  closedBy: string | null;
  assignee: string | null;
  lastComment: string | null;
  resolution: string | null;
}

export interface BreakCount {
  listing: BreakListing;
  check: string;
  status: string;
  count: number;
  differenceCenticents: bigint;
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

/** The audit chain's last row when the workbook was built: kept outside the database, it catches a chain cut back or rebuilt. */
export interface AuditAnchor {
  seq: string;
  hash: string;
  mac: string | null;
  macKeyId: string | null;
}

/** What is known, when the workbook is built, about the next settlement day's workbook. */
export interface NextDayStatus {
  date: string;
  /** Cycles of that day already ingested, and how many of them have a successful run. */
  cycles: Date[];
  reconciledCycles: number;
  /** Its latest workbook, if one was built. */
  latestWorkbook: { version: number; createdAt: Date } | null;
  /** The latest cycle before that day (for the expected time of its cycle). */
  previousCycle: Date | null;
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
  /** The asset class of Klear's obligation (null for a ledger-only market). */
  assetClass: string | null;
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

/** One (cycle, subtrader, market) of the Funding sheet. */
export interface FundingRow {
  cycle: Date;
  assetClass: string | null;
  subtraderId: string;
  groupId: string | null;
  marketTicker: string;
  /** Klear's funding payments (one per funding time) behind the figure. */
  payments: number;
  klearCenticents: bigint | null;
  internalCenticents: bigint | null;
  differenceCenticents: bigint;
  match: DetailMatch;
}
