import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';

/**
 * A database transaction in progress. Repositories open it and write through it; a service only hands
 * it on, unopened, so that several repositories' writes commit (or roll back) together: a change and
 * its audit row, a transition and its notification. (TypeORM's transaction-bound EntityManager: code
 * that still holds one passes it as it is.)
 */
export type DbTransaction = EntityManager;

/** Opens transactions for services, which are not given the DataSource (issue 17): `run(work)` commits what `work` wrote. */
@Injectable()
export class DbTransactions {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Runs `work` in one READ COMMITTED transaction: committed when it resolves, rolled back when it throws. */
  run<T>(work: (tx: DbTransaction) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }
}
