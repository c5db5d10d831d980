import { bigintColumnTransformer } from '@app/money';
import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

const money = { type: 'bigint' as const, transformer: bigintColumnTransformer };

/**
 * Settlement buffer movements as Klear lists them. Klear gives them no id: an entry is identified by
 * (business_transaction_id, created_ts, deltas, reason), so duplicated or re-ordered page items
 * collapse onto one row.
 */
@Entity({ name: 'klear_balance_history' })
@Index('UQ_klear_balance_history_identity', ['businessTransactionId', 'createdTs', 'balanceDeltaCenticents', 'lockedBalanceDeltaCenticents', 'reason'], { unique: true })
@Index(['createdTs'])
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

  @Column({ type: 'timestamptz', name: 'first_pulled_at' })
  firstPulledAt: Date;

  @Column({ type: 'bigint', name: 'archive_id' })
  archiveId: string;
}
