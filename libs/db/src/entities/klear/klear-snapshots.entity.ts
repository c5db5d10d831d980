import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintColumn, money } from '../columns';
import { KlearPull, KlearUserPull } from './klear-pull';

export type EstimateSource = 'settlement_estimate' | 'settlement_estimate_by_asset_class';

/** One pull of the (moving) settlement estimate. */
@Entity({ name: 'klear_estimate_snapshot' })
@Index(['source', 'pulledAt'])
export class KlearEstimateSnapshot extends KlearPull {
  @Column({ type: 'text' })
  source: EstimateSource;

  @Column({ ...money, name: 'settlement_balance_centicents' })
  settlementBalanceCenticents: bigint;
}

/**
 * The figures of one estimate snapshot: scope `user` (key ''), `subtrader` or `group`; `asset_class`
 * is '' for the plain estimate.
 */
@Entity({ name: 'klear_estimate_line' })
export class KlearEstimateLine {
  @PrimaryColumn({ type: 'bigint', name: 'snapshot_id' })
  snapshotId: string;

  @PrimaryColumn({ type: 'text', name: 'asset_class' })
  assetClass: string;

  @PrimaryColumn({ type: 'text' })
  scope: 'user' | 'subtrader' | 'group';

  @PrimaryColumn({ type: 'text' })
  key: string;

  @Column({ ...money, name: 'variation_margin_centicents' })
  variationMarginCenticents: bigint;

  @Column({ ...money, name: 'total_fees_centicents' })
  totalFeesCenticents: bigint;

  @Column({ ...money, name: 'maintenance_margin_delta_centicents' })
  maintenanceMarginDeltaCenticents: bigint;

  @Column({ ...money, name: 'maintenance_margin_required_centicents' })
  maintenanceMarginRequiredCenticents: bigint;

  @Column({ ...money, name: 'total_amount_centicents' })
  totalAmountCenticents: bigint;

  /** On the `user` line of an asset class: breakdown entries Klear left out. */
  @Column({ type: 'integer', name: 'omitted_subtrader_count', nullable: true })
  omittedSubtraderCount: number | null;

  @Column({ type: 'integer', name: 'omitted_group_count', nullable: true })
  omittedGroupCount: number | null;

  /** When Klear will next compute the estimate: the cycle this line is for. */
  @Column({ type: 'timestamptz', name: 'next_runtime', nullable: true })
  nextRuntime: Date | null;
}

/** One pull of the settlement buffer balance. */
@Entity({ name: 'klear_balance_snapshot' })
@Index(['pulledAt'])
export class KlearBalanceSnapshot extends KlearUserPull {
  @Column({ ...money, name: 'available_centicents' })
  availableCenticents: bigint;

  @Column({ ...money, name: 'locked_centicents', nullable: true })
  lockedCenticents: bigint | null;
}

@Entity({ name: 'klear_guaranty_fund_snapshot' })
@Index(['pulledAt'])
export class KlearGuarantyFundSnapshot extends KlearUserPull {
  @Column({ ...money, name: 'amount_centicents' })
  amountCenticents: bigint;

  @Column({ type: 'timestamptz', name: 'updated_ts' })
  updatedTs: Date;
}

@Entity({ name: 'klear_large_trader_snapshot' })
@Index(['reportDate', 'pulledAt'])
export class KlearLargeTraderSnapshot extends KlearUserPull {
  @Column({ type: 'date', name: 'report_date' })
  reportDate: string;
}

/** Signed contract counts (not money). */
@Entity({ name: 'klear_large_trader_position' })
export class KlearLargeTraderPosition {
  @PrimaryColumn({ type: 'bigint', name: 'snapshot_id' })
  snapshotId: string;

  @PrimaryColumn({ type: 'text', name: 'market_ticker' })
  marketTicker: string;

  @Column(bigintColumn)
  position: bigint;
}
