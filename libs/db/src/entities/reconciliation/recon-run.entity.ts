import { bigintColumnTransformer } from '@app/money';
import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const RECON_SCOPES = ['cycle', 'projected'] as const;
export type ReconScope = (typeof RECON_SCOPES)[number];
export const RECON_RUN_STATUSES = ['running', 'succeeded', 'failed'] as const;
export type ReconRunStatus = (typeof RECON_RUN_STATUSES)[number];

/**
 * One reconciliation run of a cycle (or of the intraday projection), with the exact inputs it read
 * (obligation version, ledger and balance-history high-water marks, estimate snapshot, tolerances)
 * so that it can be reproduced and compared with another run.
 */
@Entity({ name: 'recon_run' })
@Index(['scopeKey', 'id'])
@Index(['scopeKey', 'inputsSha256'])
export class ReconRun {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ type: 'text' })
  scope: ReconScope;

  /** `cycle/<execution_time ISO>/<asset class>` or `projected/<asset class>`: the breaks a run may open or close. */
  @Column({ type: 'text', name: 'scope_key' })
  scopeKey: string;

  @Column({ type: 'timestamptz', nullable: true })
  cycle: Date | null;

  /** The asset class the run reconciles (every run, of a cycle or projected, is per asset class). */
  @Column({ type: 'text', name: 'asset_class', nullable: true })
  assetClass: string | null;

  @Column({ type: 'jsonb' })
  inputs: Record<string, unknown>;

  /** SHA-256 of the canonical inputs: equal hashes = same inputs = same breaks. */
  @Column({ type: 'text', name: 'inputs_sha256' })
  inputsSha256: string;

  @Column({ type: 'text' })
  status: ReconRunStatus;

  @Column({ type: 'timestamptz', name: 'started_at' })
  startedAt: Date;

  @Column({ type: 'timestamptz', name: 'finished_at', nullable: true })
  finishedAt: Date | null;

  @Column({ type: 'integer', name: 'break_count', default: 0 })
  breakCount: number;

  /** Per check: break counts by reason, klear_total, internal_total, tolerated difference (decimal strings). */
  @Column({ type: 'jsonb', nullable: true })
  summary: Record<string, unknown> | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ type: 'text', name: 'created_by' })
  createdBy: string;
}

/**
 * settlement_details rolled up per (run, subtrader), for the subtraders that have breaks or
 * tolerated differences: the two totals, the sum of the breaks' differences and of the tolerated
 * ones (which together the run asserts equal to the totals' difference, see explainability).
 */
@Entity({ name: 'recon_subtrader_rollup' })
export class ReconSubtraderRollup {
  @Column({ type: 'bigint', name: 'run_id', primary: true })
  runId: string;

  @Column({ type: 'text', name: 'subtrader_id', primary: true })
  subtraderId: string;

  @Column({ type: 'bigint', name: 'klear_total_centicents', transformer: bigintColumnTransformer })
  klearTotalCenticents: bigint;

  @Column({ type: 'bigint', name: 'internal_total_centicents', transformer: bigintColumnTransformer })
  internalTotalCenticents: bigint;

  @Column({ type: 'bigint', name: 'break_difference_centicents', transformer: bigintColumnTransformer })
  breakDifferenceCenticents: bigint;

  /** Differences under the tolerance: not breaks, but part of the totals' difference. */
  @Column({ type: 'bigint', name: 'tolerated_difference_centicents', transformer: bigintColumnTransformer })
  toleratedDifferenceCenticents: bigint;

  @Column({ type: 'integer', name: 'break_count' })
  breakCount: number;

  @Column({ type: 'integer', name: 'tolerated_count', default: 0 })
  toleratedCount: number;
}
