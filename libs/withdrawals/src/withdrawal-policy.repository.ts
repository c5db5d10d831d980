import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AdvisoryLocks, lockForTransaction, WithdrawalPolicy } from '@app/db';
import { DataSource } from 'typeorm';
import type { WithdrawalTx } from './withdrawal.repository';

/** The versions of the withdrawal policy (withdrawal_policy): the highest one is in force. */
@Injectable()
export class WithdrawalPolicyRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** A transaction of its own (the default policy's seeding). */
  transaction<T>(work: (m: WithdrawalTx) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /** The newest version, if any; in `m`'s transaction when given. */
  latest(m?: WithdrawalTx): Promise<WithdrawalPolicy | null> {
    return (m ?? this.dataSource.manager).findOne(WithdrawalPolicy, { where: {}, order: { version: 'DESC' } });
  }

  /** Serialises writers of the policy until `m`'s transaction ends (transaction-level advisory lock). */
  async lockForWriting(m: WithdrawalTx): Promise<void> {
    await lockForTransaction(m, AdvisoryLocks.withdrawalPolicy);
  }

  /** Appends a version; answers the row as written. */
  async insert(m: WithdrawalTx, fields: WithdrawalPolicy): Promise<WithdrawalPolicy> {
    const row = m.create(WithdrawalPolicy, fields);
    await m.insert(WithdrawalPolicy, row as never);
    return row;
  }
}
