import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintColumnTransformer } from '@app/money';

/** One version of the withdrawal policy; the highest version is in force. Rows are never edited. */
@Entity({ name: 'withdrawal_policy' })
export class WithdrawalPolicy {
  @PrimaryColumn({ type: 'integer' })
  version: number;

  /** `[{ min_amount_centicents: string, approvals_required: number, roles_required: string[] }]`, ascending. */
  @Column({ type: 'jsonb' })
  tiers: Array<{ min_amount_centicents: string; approvals_required: number; roles_required: string[] }>;

  @Column({ type: 'integer', name: 'expiry_seconds' })
  expirySeconds: number;

  @Column({ type: 'bigint', name: 'reserve_floor_centicents', transformer: bigintColumnTransformer })
  reserveFloorCenticents: bigint;

  @Column({ type: 'bigint', name: 'cap_centicents', transformer: bigintColumnTransformer })
  capCenticents: bigint;

  @Column({ type: 'timestamptz', name: 'created_at' })
  createdAt: Date;

  @Column({ type: 'text', name: 'created_by' })
  createdBy: string;
}
