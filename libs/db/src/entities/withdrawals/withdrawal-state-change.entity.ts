import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { WithdrawalRequestRow } from './withdrawal-request-row';

/**
 * The state history of a request, for fast reads of `GET /withdrawals/{id}`. The hash-chained
 * audit log holds the same transitions (audit_seq points at it) and is the record of truth.
 */
@Entity({ name: 'withdrawal_state_change' })
@Index(['requestId', 'id'])
export class WithdrawalStateChange extends WithdrawalRequestRow {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ type: 'text', name: 'from_state', nullable: true })
  fromState: string | null;

  @Column({ type: 'text', name: 'to_state' })
  toState: string;

  @Column({ type: 'text' })
  actor: string;

  @Column({ type: 'text', nullable: true })
  reason: string | null;

  @Column({ type: 'jsonb', nullable: true })
  details: Record<string, unknown> | null;

  @Column({ type: 'timestamptz' })
  at: Date;

  @Column({ type: 'bigint', name: 'audit_seq' })
  auditSeq: string;
}
