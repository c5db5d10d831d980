import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { WithdrawalRequestRow } from './withdrawal-request-row';
import { bigintColumnTransformer } from '@app/money';

/**
 * One submission of a withdrawal to Klear. Committed as `submitting` BEFORE the POST, with what
 * the buffer looked like just before, so that an unknown outcome can be resolved from Klear's own
 * records afterwards. `abandoned`: the POST provably never left (no posted_at, and its executor can
 * no longer record one).
 */
@Entity({ name: 'withdrawal_attempt' })
@Index(['requestId', 'attemptNo'], { unique: true })
@Index(['state'])
@Check('withdrawal_attempt_state_known', `"state" IN ('submitting','submitted','outcome_unknown','not_submitted','abandoned')`)
export class WithdrawalAttempt extends WithdrawalRequestRow {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'integer', name: 'attempt_no' })
  attemptNo: number;

  @Column({ type: 'text' })
  state: string;

  @Column({ type: 'timestamptz', name: 'started_at' })
  startedAt: Date;

  /**
   * When the executor recorded "posting now" (fenced: only the holder of the current fencing token
   * can write it). Null = the POST never left, and never will: the attempt can be abandoned. The
   * outcome grace period counts from here.
   */
  @Column({ type: 'timestamptz', name: 'posted_at', nullable: true })
  postedAt: Date | null;

  /** The executor's fencing token that recorded posted_at. */
  @Column({ type: 'bigint', name: 'fencing_token', nullable: true })
  fencingToken: string | null;

  @Column({ type: 'timestamptz', name: 'finished_at', nullable: true })
  finishedAt: Date | null;

  /** A Klear withdrawal belongs to at most one attempt: a history entry is claimed once. */
  @Index({ unique: true, where: '"klear_withdrawal_id" IS NOT NULL' })
  @Column({ type: 'text', name: 'klear_withdrawal_id', nullable: true })
  klearWithdrawalId: string | null;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ type: 'bigint', name: 'available_before_centicents', transformer: bigintColumnTransformer })
  availableBeforeCenticents: bigint;

  @Column({ type: 'bigint', name: 'locked_before_centicents', transformer: bigintColumnTransformer })
  lockedBeforeCenticents: bigint;

  /** The newest balance-history entries before the POST: entries after them are new. */
  @Column({ type: 'jsonb', name: 'history_head_before', nullable: true })
  historyHeadBefore: Record<string, unknown> | null;

  /** How the outcome was established (Klear's answer, or the evidence found in its records). */
  @Column({ type: 'jsonb', nullable: true })
  resolution: Record<string, unknown> | null;
}
