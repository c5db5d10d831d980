import {
  Check,
  Column,
  JoinColumn,
  ManyToOne,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
  VersionColumn,
} from 'typeorm';
import { bigintColumnTransformer } from '@app/money';
import { AppUser } from '../app-user.entity';

/**
 * A request to wire money out of the settlement buffer. Its state only changes through the
 * withdrawals library's transition table, under a row lock, with an audit row in the same
 * transaction. `policy_snapshot` is the policy in force when the request was made.
 */
@Entity({ name: 'withdrawal_request' })
@Index(['requesterId', 'idempotencyKey'], { unique: true })
@Index(['state', 'createdAt'])
@Index('IDX_withdrawal_request_created_at_id', ['createdAt', 'id'])
@Check('withdrawal_request_amount_positive', '"amount_centicents" > 0')
@Check(
  'withdrawal_request_state_known',
  `"state" IN ('pending_approval','approved','submitting','submitted','processing','processed','rejected','cancelled','expired','failed','outcome_unknown','not_submitted')`,
)
export class WithdrawalRequest {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'bigint', name: 'amount_centicents', transformer: bigintColumnTransformer })
  amountCenticents: bigint;

  @Column({ type: 'text' })
  purpose: string;

  @Column({ type: 'uuid', name: 'requester_id' })
  requesterId: string;

  @ManyToOne(() => AppUser, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'requester_id' })
  requester?: AppUser;

  @Column({ type: 'text', name: 'requester_name' })
  requesterName: string;

  @Column({ type: 'text', name: 'idempotency_key' })
  idempotencyKey: string;

  /** SHA-256 of the canonical request body: the same key with another body is a 409. */
  @Column({ type: 'text', name: 'request_hash' })
  requestHash: string;

  @Column({ type: 'text' })
  state: string;

  @Column({ type: 'integer', name: 'policy_version' })
  policyVersion: number;

  @Column({ type: 'jsonb', name: 'policy_snapshot' })
  policySnapshot: Record<string, unknown>;

  @Column({ type: 'integer', name: 'approvals_required' })
  approvalsRequired: number;

  @Column({ type: 'text', array: true, name: 'roles_required' })
  rolesRequired: string[];

  /** Approvals of earlier rounds stop counting when a proven non-submission starts a new round. */
  @Column({ type: 'integer', name: 'approval_round', default: 1 })
  approvalRound: number;

  @Column({ type: 'timestamptz', name: 'expires_at' })
  expiresAt: Date;

  /** The headroom figures when the request was accepted. */
  @Column({ type: 'jsonb', name: 'headroom_at_request' })
  headroomAtRequest: Record<string, unknown>;

  /** Why the executor last held an approved request back (headroom), with the figures; null once moving. */
  @Column({ type: 'jsonb', name: 'execution_hold', nullable: true })
  executionHold: Record<string, unknown> | null;

  @Index({ unique: true, where: '"klear_withdrawal_id" IS NOT NULL' })
  @Column({ type: 'text', name: 'klear_withdrawal_id', nullable: true })
  klearWithdrawalId: string | null;

  @Column({ type: 'timestamptz', name: 'submitted_at', nullable: true })
  submittedAt: Date | null;

  /** Klear's last reported status (pending, processing, processed, failed). */
  @Column({ type: 'text', name: 'klear_status', nullable: true })
  klearStatus: string | null;

  /**
   * Why a person must look at this request (a failed wire, a Klear id that could not be confirmed or
   * is held by another request, ambiguous evidence at Klear); null when nothing is asked of anyone.
   * Raised and delivered only by WithdrawalAttention.
   */
  @Index({ where: '"attention_reason" IS NOT NULL' })
  @Column({ type: 'text', name: 'attention_reason', nullable: true })
  attentionReason: string | null;

  @Column({ type: 'jsonb', name: 'attention_details', nullable: true })
  attentionDetails: Record<string, unknown> | null;

  @Column({ type: 'timestamptz', name: 'attention_raised_at', nullable: true })
  attentionRaisedAt: Date | null;

  /** When the webhook accepted the alert (null: not yet; retried by the poller). */
  @Column({ type: 'timestamptz', name: 'attention_notified_at', nullable: true })
  attentionNotifiedAt: Date | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updatedAt: Date;

  /** Optimistic version, bumped by every save; transitions also hold a row lock. */
  @VersionColumn({ type: 'integer' })
  version: number;
}
