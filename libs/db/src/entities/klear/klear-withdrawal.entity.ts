import { bigintColumnTransformer } from '@app/money';
import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

export const FINAL_KLEAR_WITHDRAWAL_STATUSES = ['processed', 'failed'] as const;

/**
 * A withdrawal Klear knows by id. The withdrawal workflow inserts the row when Klear answers the
 * POST with an id; the withdrawal_status job polls non-final ones and records each status seen.
 */
@Entity({ name: 'klear_withdrawal' })
@Index(['status'])
export class KlearWithdrawal {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'bigint', name: 'amount_centicents', transformer: bigintColumnTransformer })
  amountCenticents: bigint;

  /** pending | processing | processed | failed; null until first polled. */
  @Column({ type: 'text', nullable: true })
  status: string | null;

  @Column({ type: 'timestamptz', name: 'klear_created_ts', nullable: true })
  klearCreatedTs: Date | null;

  @Column({ type: 'timestamptz', name: 'registered_at' })
  registeredAt: Date;

  @Column({ type: 'timestamptz', name: 'last_polled_at', nullable: true })
  lastPolledAt: Date | null;
}

/** Each status a Klear withdrawal was seen in, first time seen. */
@Entity({ name: 'klear_withdrawal_status' })
@Index(['withdrawalId', 'status'], { unique: true })
export class KlearWithdrawalStatus {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'text', name: 'withdrawal_id' })
  withdrawalId: string;

  @Column({ type: 'text' })
  status: string;

  @Column({ type: 'timestamptz', name: 'observed_at' })
  observedAt: Date;

  @Column({ type: 'bigint', name: 'archive_id', nullable: true })
  archiveId: string | null;
}
