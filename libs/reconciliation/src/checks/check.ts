import type { ReconSettings } from '../recon-inputs';

/**
 * The run's connection as ReconciliationRunRepository hands it to the checks: their statements run
 * in the transaction it opened (the snapshot, then the one that records the run), rows come back.
 * Checks never get the DataSource: the run's repository decides the connection and the transaction.
 */
export interface CheckSql {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/** What every check of one cycle's run starts from, read in the run's snapshot. */
export interface CycleContext {
  cycle: Date;
  /** The asset class the run reconciles: Klear's obligation of that class, the ledger's entries of that class. */
  assetClass: string;
  /** The cycle as written in break keys. */
  keyText: string;
  obligationIds: string[];
  /** High-water marks: journal_entry.ledger_seq, klear_balance_history.id, withdrawal_state_change.id. */
  ledgerSeq: string;
  balanceHistoryId: string;
  withdrawalStateChangeId: string;
  settings: ReconSettings;
}

/** What the projected check of one asset class starts from. */
export interface ProjectedContext {
  /** The asset class projected: the estimate's lines of that class, the ledger's entries of that class. */
  assetClass: string;
  snapshotId: string;
  pulledAt: Date;
  /** The class's last settled cycle (NULL when none): the estimate projects the one after it. */
  lastSettled: Date | null;
  /**
   * The cycle the class's estimate projects (its next_runtime), which also bounds the ledger's open
   * cycles. NULL for an estimate without next_runtime: then the cycle after the last settled one,
   * every open cycle of the ledger counting.
   */
  nextRuntime: Date | null;
  ledgerSeq: string;
  settings: ReconSettings;
}

export interface PreparedCheck {
  /** Exactly what the check reads beyond the run's shared inputs: part of the run's inputs fingerprint. */
  inputs: Record<string, unknown>;
  /** Writes the findings into recon_found (row tolerance applied); may answer a part of the run summary. */
  execute(q: CheckSql): Promise<Record<string, unknown> | void>;
  /** After the aggregate tolerances: reason codes, rows behind each side, assertions. */
  finish?(q: CheckSql): Promise<Record<string, unknown> | void>;
  /** In the transaction that records the run (outside the snapshot): anything kept besides the breaks. */
  store?(q: CheckSql, runId: string): Promise<void>;
}

/**
 * One reconciliation check: its own SQL in its own file (libs/reconciliation/src/checks), its break
 * keys built with breakKeySql, its rule documented in docs/ledger-and-breaks.md. Adding a check is
 * adding one of these to CYCLE_CHECKS (or PROJECTED_CHECKS).
 */
export interface ReconCheck<C> {
  readonly name: string;
  tolerance(settings: ReconSettings): bigint;
  /** Read-only, in the run's snapshot (also used to decide whether a cycle is stale). */
  prepare(q: CheckSql, context: C): Promise<PreparedCheck>;
}
