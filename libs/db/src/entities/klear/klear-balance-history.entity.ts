import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { money } from '../columns';

/**
 * Settlement buffer movements as Klear lists them. Klear gives them no id: an entry is identified by
 * (business_transaction_id, created_ts, deltas, reason) and its occurrence among identical entries
 * side by side on a page (docs/ingestion.md), so entries Klear really holds twice are two rows while
 * duplicated or re-ordered page items collapse onto one.
 */
@Entity({ name: 'klear_balance_history' })
@Index(
  'UQ_klear_balance_history_identity',
  ['businessTransactionId', 'createdTs', 'balanceDeltaCenticents', 'lockedBalanceDeltaCenticents', 'reason', 'occurrence'],
  { unique: true },
)
@Index('IDX_klear_balance_history_created_ts_id', ['createdTs', 'id'])
@Index('IDX_klear_balance_history_settlement', ['createdTs'], { where: `"reason" IN ('settlement_payment', 'settlement_receipt')` })
export class KlearBalanceHistoryEntry {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'text', name: 'business_transaction_id' })
  businessTransactionId: string;

  @Column({ type: 'timestamptz', name: 'created_ts' })
  createdTs: Date;

  @Column({ ...money, name: 'balance_delta_centicents' })
  balanceDeltaCenticents: bigint;

  @Column({ ...money, name: 'locked_balance_delta_centicents' })
  lockedBalanceDeltaCenticents: bigint;

  @Column({ type: 'text' })
  reason: string;

  /** 0 for the first of identical entries side by side on a page, 1 for the second, ... */
  @Column({ type: 'int', default: 0 })
  occurrence: number;

  @Column({ type: 'timestamptz', name: 'first_pulled_at' })
  firstPulledAt: Date;

  @Column({ type: 'bigint', name: 'archive_id' })
  archiveId: string;
}
