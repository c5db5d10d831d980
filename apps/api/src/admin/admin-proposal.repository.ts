import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AdminProposal, type DbTransaction } from '@app/db';
import { DataSource } from 'typeorm';

/** Dual-control proposals (`admin_proposal`). */
@Injectable()
export class AdminProposalRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Whether a proposal to create a user of that name is waiting. */
  async userCreationPending(tx: DbTransaction, name: string): Promise<boolean> {
    const pending = (await tx.query(
      `SELECT 1 FROM admin_proposal WHERE kind = 'user.create' AND state = 'pending' AND payload->>'name' = $1`,
      [name],
    )) as unknown[];
    return pending.length > 0;
  }

  insert(tx: DbTransaction, proposal: Omit<AdminProposal, 'id'>): Promise<AdminProposal> {
    return tx.save(tx.create(AdminProposal, proposal));
  }

  save(tx: DbTransaction, proposal: AdminProposal): Promise<AdminProposal> {
    return tx.save(proposal);
  }

  /** The proposal, locked until `tx` ends. */
  lock(tx: DbTransaction, id: string): Promise<AdminProposal | null> {
    return tx.findOne(AdminProposal, { where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  findById(id: string): Promise<AdminProposal | null> {
    return this.dataSource.manager.findOneBy(AdminProposal, { id });
  }

  /** Newest first, by state, after a (proposed_at, id) position. */
  list(state: string | undefined, limit: number, after?: { at: string; id: string }): Promise<AdminProposal[]> {
    const qb = this.dataSource
      .getRepository(AdminProposal)
      .createQueryBuilder('p')
      .orderBy('p.proposed_at', 'DESC')
      .addOrderBy('p.id', 'DESC')
      .limit(limit);
    if (state) qb.andWhere('p.state = :state', { state });
    if (after) qb.andWhere('(p.proposed_at, p.id) < (:at::timestamptz, :id::uuid)', after);
    return qb.getMany();
  }
}
