import { JoinColumn, ManyToOne, Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { AppUser } from '../app-user.entity';
import { WithdrawalRequestRow } from './withdrawal-request-row';

/**
 * One approver's decision on one approval round of a withdrawal request (append-only). An approver's
 * latest row in a round is their decision: 'revoke' withdraws an earlier approval (before execution).
 */
@Entity({ name: 'withdrawal_approval' })
@Index(['requestId', 'round', 'approverId'])
@Check('withdrawal_approval_decision_known', `"decision" IN ('approve','reject','revoke')`)
export class WithdrawalApproval extends WithdrawalRequestRow {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ type: 'integer' })
  round: number;

  @Column({ type: 'uuid', name: 'approver_id' })
  approverId: string;

  @ManyToOne(() => AppUser, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'approver_id' })
  approver?: AppUser;

  @Column({ type: 'text', name: 'approver_name' })
  approverName: string;

  /** The roles the approver held when deciding (the executor re-checks current roles). */
  @Column({ type: 'text', array: true, name: 'approver_roles' })
  approverRoles: string[];

  @Column({ type: 'text' })
  decision: 'approve' | 'reject' | 'revoke';

  @Column({ type: 'text', nullable: true })
  reason: string | null;

  @Column({ type: 'timestamptz', name: 'decided_at' })
  decidedAt: Date;
}
