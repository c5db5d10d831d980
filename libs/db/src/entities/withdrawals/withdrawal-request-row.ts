import { Column, JoinColumn, ManyToOne } from 'typeorm';
import { WithdrawalRequest } from './withdrawal-request.entity';

/** The columns of a row that belongs to one withdrawal request (a request is never deleted from under its rows). */
export abstract class WithdrawalRequestRow {
  @Column({ type: 'uuid', name: 'request_id' })
  requestId: string;

  @ManyToOne(() => WithdrawalRequest, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'request_id' })
  request?: WithdrawalRequest;
}
