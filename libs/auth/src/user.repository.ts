import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AdvisoryLocks, AppUser, type DbTransaction, lockForTransaction, type UserKind } from '@app/db';
import { DataSource, In, IsNull } from 'typeorm';
import type { Role } from './roles';

/** Users (`app_user`): the only place that reads or writes them for the auth library. */
@Injectable()
export class UserRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  findById(id: string, tx?: DbTransaction): Promise<AppUser | null> {
    return (tx ?? this.dataSource.manager).findOneBy(AppUser, { id });
  }

  /** The user of that name, active or disabled. */
  findByName(name: string, tx?: DbTransaction): Promise<AppUser | null> {
    return (tx ?? this.dataSource.manager).findOneBy(AppUser, { name });
  }

  findActiveByName(name: string): Promise<AppUser | null> {
    return this.dataSource.getRepository(AppUser).findOneBy({ name, disabledAt: IsNull() });
  }

  /** The user, locked until `tx` ends. */
  lock(tx: DbTransaction, id: string): Promise<AppUser | null> {
    return tx.findOne(AppUser, { where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  create(tx: DbTransaction, user: { name: string; roles: Role[]; kind: UserKind }): Promise<AppUser> {
    return tx.save(tx.create(AppUser, { ...user, disabledAt: null }));
  }

  save(tx: DbTransaction, user: AppUser): Promise<AppUser> {
    return tx.save(user);
  }

  /** Every user, oldest first. */
  list(): Promise<AppUser[]> {
    return this.dataSource.getRepository(AppUser).find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  /** Active people (not service accounts). */
  activePeople(tx?: DbTransaction): Promise<AppUser[]> {
    return (tx ?? this.dataSource.manager).find(AppUser, { where: { disabledAt: IsNull(), kind: In(['person']) } });
  }

  /** Serialises the CLI's admin bootstrap until `tx` ends. */
  lockAdminBootstrap(tx: DbTransaction): Promise<void> {
    return lockForTransaction(tx, AdvisoryLocks.adminBootstrap);
  }
}
