import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { money, optionalMoney } from '../columns';

export const RECON_CHECKS = [
  'settlement_details',
  'maintenance_margin',
  'funding',
  'klear_consistency',
  'settlement_buffer',
  'projected',
] as const;
export type ReconCheck = (typeof RECON_CHECKS)[number];
export const BREAK_STATUSES = ['open', 'acknowledged', 'pending_write_off', 'resolved', 'closed'] as const;
export type BreakStatus = (typeof BREAK_STATUSES)[number];
export const RESOLUTION_REASONS = ['timing', 'adjustment_booked', 'klear_error', 'write_off'] as const;
export type ResolutionReason = (typeof RESOLUTION_REASONS)[number];

/**
 * What a run found for a break: its reason and the two sides' figures. Embedded (same column names,
 * no prefix) in recon_break (the last run's) and recon_break_observation (each run's).
 */
export class BreakFigures {
  @Column({ type: 'text', name: 'reason_code' })
  reasonCode: string;

  @Column({ ...optionalMoney, name: 'klear_value_centicents' })
  klearValueCenticents: bigint | null;

  @Column({ ...optionalMoney, name: 'internal_value_centicents' })
  internalValueCenticents: bigint | null;

  /** klear - internal (an absent side counts as zero). */
  @Column({ ...money, name: 'difference_centicents' })
  differenceCenticents: bigint;

  @Column({ ...optionalMoney, name: 'pnl_difference_centicents' })
  pnlDifferenceCenticents: bigint | null;

  @Column({ ...optionalMoney, name: 'fees_difference_centicents' })
  feesDifferenceCenticents: bigint | null;
}

/**
 * A break's stable identity and lifecycle across runs: one row per (scope, key), the scope naming its asset class. The figures are
 * those of the last run that found it; each run's own figures are in recon_break_observation.
 */
@Entity({ name: 'recon_break' })
@Index(['scopeKey', 'breakKey'], { unique: true })
@Index(['status', 'id'])
@Index(['scopeKey', 'status'])
@Index('IDX_recon_break_asset_class', ['assetClass', 'status'])
@Index('IDX_recon_break_first_seen_run', ['firstSeenRun'])
export class ReconBreak {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ type: 'text', name: 'scope_key' })
  scopeKey: string;

  /** docs/ledger-and-breaks.md key, e.g. `settlement_details/{cycle}/{subtrader}/{market}`. */
  @Column({ type: 'text', name: 'break_key' })
  breakKey: string;

  @Column({ type: 'text' })
  check: ReconCheck;

  @Column({ type: 'timestamptz', nullable: true })
  cycle: Date | null;

  /** The asset class of the run (a cycle's or projected) that found it (part of its scope). */
  @Column({ type: 'text', name: 'asset_class', nullable: true })
  assetClass: string | null;

  @Column({ type: 'text', name: 'subtrader_id', nullable: true })
  subtraderId: string | null;

  @Column({ type: 'text', name: 'market_ticker', nullable: true })
  marketTicker: string | null;

  /** Business reference (buffer movement), field (consistency) or snapshot (projected). */
  @Column({ type: 'text', nullable: true })
  reference: string | null;

  @Column(() => BreakFigures, { prefix: false })
  figures: BreakFigures;

  @Column({ type: 'text' })
  status: BreakStatus;

  @Column({ type: 'bigint', name: 'first_seen_run' })
  firstSeenRun: string;

  @Column({ type: 'bigint', name: 'last_seen_run' })
  lastSeenRun: string;

  @Column({ type: 'bigint', name: 'closed_by_run', nullable: true })
  closedByRun: string | null;

  @Column({ type: 'text', nullable: true })
  assignee: string | null;

  @Column({ type: 'text', name: 'resolution_reason', nullable: true })
  resolutionReason: ResolutionReason | null;

  /** The ledger entry external_id (adjustment_booked) or the Klear ticket (klear_error). */
  @Column({ type: 'text', name: 'resolution_reference', nullable: true })
  resolutionReference: string | null;

  @Column({ type: 'text', name: 'resolution_note', nullable: true })
  resolutionNote: string | null;

  /** Who resolved it, or who proposed the write-off. */
  @Column({ type: 'text', name: 'resolved_by', nullable: true })
  resolvedBy: string | null;

  @Column({ type: 'uuid', name: 'resolved_by_user_id', nullable: true })
  resolvedByUserId: string | null;

  @Column({ type: 'text', name: 'cosigned_by', nullable: true })
  cosignedBy: string | null;

  /**
   * The difference a write-off proposal names (and its co-sign must name again). Any change of the
   * break's figures voids the proposal: a run reopens the break and clears it.
   */
  @Column({ ...optionalMoney, name: 'write_off_difference_centicents' })
  writeOffDifferenceCenticents: bigint | null;

  @Column({ type: 'timestamptz', name: 'resolved_at', nullable: true })
  resolvedAt: Date | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updatedAt: Date;
}

/** What one run found for one break: its figures then and the rows behind each side. */
@Entity({ name: 'recon_break_observation' })
@Index(['runId', 'subtraderId', 'ordinal'])
@Index(['runId', 'check', 'ordinal'])
@Index(['breakId', 'runId'])
export class ReconBreakObservation {
  @Column({ type: 'bigint', name: 'run_id', primary: true })
  runId: string;

  /** Position in the run's deterministic order (by key). */
  @Column({ type: 'integer', primary: true })
  ordinal: number;

  @Column({ type: 'bigint', name: 'break_id' })
  breakId: string;

  @Column({ type: 'text', name: 'break_key' })
  breakKey: string;

  @Column({ type: 'text' })
  check: ReconCheck;

  @Column({ type: 'text', name: 'subtrader_id', nullable: true })
  subtraderId: string | null;

  @Column(() => BreakFigures, { prefix: false })
  figures: BreakFigures;

  /** Klear rows behind the Klear value (detail ids, balance-history ids, ...). */
  @Column({ type: 'jsonb', name: 'klear_rows' })
  klearRows: unknown[];

  /** Ledger rows behind the internal value (journal entry external ids, withdrawal request ids). */
  @Column({ type: 'jsonb', name: 'internal_rows' })
  internalRows: unknown[];

  /** The run's cycle, '-infinity' for runs without one: the partition key (docs/partitioning-and-retention.md). */
  @Column({ type: 'timestamptz', name: 'cycle_key', primary: true, default: () => "'-infinity'" })
  cycleKey: Date;
}

@Entity({ name: 'recon_break_comment' })
@Index(['breakId', 'id'])
export class ReconBreakComment {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ type: 'bigint', name: 'break_id' })
  breakId: string;

  @Column({ type: 'text' })
  author: string;

  @Column({ type: 'text' })
  body: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt: Date;
}
