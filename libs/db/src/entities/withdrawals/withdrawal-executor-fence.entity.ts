import { Check, Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * The fencing token of the withdrawal executor: one row. Every executor that takes the executor's
 * lock bumps `token` and remembers the value; each of its writes, and above all the record that a
 * POST is leaving (withdrawal_attempt.posted_at), commits only while the row still holds that value
 * (checked under FOR SHARE in the same statement), so an executor that lost its lock, its connection
 * or its turn can never record a POST, and therefore never send one.
 */
@Entity({ name: 'withdrawal_executor_fence' })
@Check('withdrawal_executor_fence_single_row', '"id" = 1')
export class WithdrawalExecutorFence {
  @PrimaryColumn({ type: 'smallint' })
  id: number;

  @Column({ type: 'bigint' })
  token: string;

  /** The executor instance that holds the token (for people reading the row). */
  @Column({ type: 'text', nullable: true })
  holder: string | null;

  @Column({ type: 'timestamptz', name: 'acquired_at', nullable: true })
  acquiredAt: Date | null;
}
