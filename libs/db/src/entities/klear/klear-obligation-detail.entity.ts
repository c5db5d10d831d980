import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { money } from '../columns';

/** Current settlement details of each obligation: one row per market per subtrader. */
@Entity({ name: 'klear_settlement_detail' })
@Index(['obligationId', 'subtraderId'])
@Index('IDX_klear_settlement_detail_cycle', ['cycle', 'subtraderId'])
export class KlearSettlementDetail {
  @PrimaryColumn({ type: 'text', name: 'obligation_id' })
  obligationId: string;

  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'text', name: 'market_ticker' })
  marketTicker: string;

  @Column({ type: 'text', name: 'subtrader_id' })
  subtraderId: string;

  @Column({ ...money, name: 'pnl_centicents' })
  pnlCenticents: bigint;

  @Column({ ...money, name: 'fees_centicents' })
  feesCenticents: bigint;

  @Column({ ...money, name: 'total_centicents' })
  totalCenticents: bigint;

  /** The live API's position quantity (fixed point, exact). */
  @Column({ type: 'numeric', name: 'position_quantity_fp', nullable: true })
  positionQuantityFp: string | null;

  /** The obligation's execution_time: the partition key (monthly partitions, docs/partitioning-and-retention.md). */
  @PrimaryColumn({ type: 'timestamptz' })
  cycle: Date;
}

/** Current maintenance margin details: one row per subtrader (`subtrader_id` may be empty). */
@Entity({ name: 'klear_margin_detail' })
// Per-subtrader reads (GET /subtraders, reconciliation) must not scan a whole obligation's rows.
@Index(['obligationId', 'subtraderId'])
@Index('IDX_klear_margin_detail_cycle', ['cycle', 'subtraderId'])
export class KlearMarginDetail {
  @PrimaryColumn({ type: 'text', name: 'obligation_id' })
  obligationId: string;

  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'text', name: 'subtrader_id' })
  subtraderId: string;

  @Column({ ...money, name: 'maintenance_margin_centicents' })
  maintenanceMarginCenticents: bigint;

  @Column({ ...money, name: 'maintenance_margin_delta_centicents' })
  maintenanceMarginDeltaCenticents: bigint;

  /** The netted margin group the subtrader belonged to, when Klear says. */
  @Column({ type: 'text', name: 'margin_group_id', nullable: true })
  marginGroupId: string | null;

  /** The obligation's execution_time: the partition key (monthly partitions, docs/partitioning-and-retention.md). */
  @PrimaryColumn({ type: 'timestamptz' })
  cycle: Date;
}

/** Money received against an obligation. */
@Entity({ name: 'klear_receive' })
// An obligation's settled_by matches balance-history entries to receives by reference (GET /obligations, every row of a page).
@Index('IDX_klear_receive_external_reference', ['externalReference'])
export class KlearReceive {
  @PrimaryColumn({ type: 'text', name: 'obligation_id' })
  obligationId: string;

  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'text' })
  type: string;

  @Column({ ...money, name: 'amount_centicents' })
  amountCenticents: bigint;

  @Column({ type: 'text', name: 'external_reference' })
  externalReference: string;

  @Column({ type: 'timestamptz', name: 'created_ts' })
  createdTs: Date;
}
