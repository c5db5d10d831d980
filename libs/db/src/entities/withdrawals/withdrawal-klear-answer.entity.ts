import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Every outcome of a withdrawal POST, written first, before anything that can fail on a constraint
 * (the request's state, the unique Klear id). Append-only: the database refuses UPDATE, DELETE and
 * TRUNCATE (migration trigger). The outcome resolver reads the Klear ids here before anything else.
 */
@Entity({ name: 'withdrawal_klear_answer' })
@Index(['attemptId'])
@Index(['klearWithdrawalId'])
@Check('withdrawal_klear_answer_outcome_known', `"outcome" IN ('created','refused','unknown','not_sent')`)
export class WithdrawalKlearAnswer {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ type: 'uuid', name: 'request_id' })
  requestId: string;

  @Column({ type: 'uuid', name: 'attempt_id' })
  attemptId: string;

  @Column({ type: 'timestamptz', name: 'received_at' })
  receivedAt: Date;

  /** created (Klear gave an id), refused (a 4xx: not acted on), unknown (timeout, 5xx, reset, unreadable), not_sent. */
  @Column({ type: 'text' })
  outcome: string;

  @Column({ type: 'integer', name: 'http_status', nullable: true })
  httpStatus: number | null;

  @Column({ type: 'text', name: 'klear_withdrawal_id', nullable: true })
  klearWithdrawalId: string | null;

  @Column({ type: 'text', name: 'klear_code', nullable: true })
  klearCode: string | null;

  @Column({ type: 'text', nullable: true })
  message: string | null;

  /** The answer's body as received (Klear's own words), when there was one. */
  @Column({ type: 'text', nullable: true })
  body: string | null;

  /** The fencing token of the executor that sent the POST. */
  @Column({ type: 'bigint', name: 'fencing_token', nullable: true })
  fencingToken: string | null;
}
