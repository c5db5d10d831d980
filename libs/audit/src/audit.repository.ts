import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { advisoryLockCall, AdvisoryLocks, AuditCheckpoint, AuditLogEntry, type DbTransaction, lockForTransaction } from '@app/db';
import { DataSource, type EntityManager } from 'typeorm';

/** Transaction-scoped advisory lock serialising appends to the chain, taken with the isolation check in one round trip. */
const AUDIT_CHAIN_LOCK = advisoryLockCall('pg_advisory_xact_lock', AdvisoryLocks.auditChain);

/** The chain's last row, which the next row links to (null: the chain is empty). */
export type AuditChainEnd = { seq: string; hash: string } | null;

/** The filters of the audit log's listing (`GET /audit`). */
export interface AuditListFilter {
  entityType?: string;
  entityId?: string;
  actor?: string;
  from?: Date;
  to?: Date;
  order?: 'asc' | 'desc';
  afterSeq?: string;
  limit: number;
}

/** The audit log's rows and verification checkpoints: the only place that reads or appends them. */
@Injectable()
export class AuditRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Appends the row `compose` builds after the chain's last row, in `tx` (or a transaction of its own).
   * The chain is locked first, and the transaction must be READ COMMITTED: the last row is read after
   * the lock, which a REPEATABLE READ snapshot taken earlier would not see (the append is refused
   * rather than colliding on seq).
   */
  async append(tx: DbTransaction | undefined, compose: (end: AuditChainEnd) => AuditLogEntry): Promise<AuditLogEntry> {
    if (!tx) return this.dataSource.transaction((m) => this.appendIn(m, compose));
    return this.appendIn(tx, compose);
  }

  private async appendIn(manager: EntityManager, compose: (end: AuditChainEnd) => AuditLogEntry): Promise<AuditLogEntry> {
    if (!manager.queryRunner?.isTransactionActive) {
      return manager.transaction((m) => this.appendIn(m, compose));
    }
    const [{ isolation }] = (await manager.query(
      `SELECT ${AUDIT_CHAIN_LOCK.sql}, current_setting('transaction_isolation') AS isolation`,
      AUDIT_CHAIN_LOCK.params,
    )) as Array<{
      isolation: string;
    }>;
    // A snapshot taken before the lock may not see the chain's latest row: the append would collide on seq.
    if (isolation !== 'read committed') {
      throw new Error(
        `audit rows are appended in READ COMMITTED transactions (this one is ${isolation}): record the audit row after the snapshot work`,
      );
    }
    const last = (await manager.query('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1')) as Array<{ seq: string; hash: string }>;
    const entry = manager.create(AuditLogEntry, compose(last.length ? last[0] : null));
    // jsonb details make TypeORM's deep-partial type balk; the entity is complete.
    await manager.insert(AuditLogEntry, entry as unknown as Parameters<EntityManager['insert']>[1]);
    return entry;
  }

  /** The hash and MAC of the row at `seq`, or undefined when the chain has no such row. */
  async rowAt(seq: string): Promise<{ hash: string; mac: string | null } | undefined> {
    const [row] = (await this.dataSource.query('SELECT hash, mac FROM audit_log WHERE seq = $1', [seq])) as Array<{
      hash: string;
      mac: string | null;
    }>;
    return row;
  }

  /** Up to `count` rows from `fromSeq` on, in seq order. */
  pageFrom(fromSeq: string, count: number): Promise<AuditLogEntry[]> {
    return this.dataSource
      .getRepository(AuditLogEntry)
      .createQueryBuilder('a')
      .where('a.seq >= :from', { from: fromSeq })
      .orderBy('a.seq', 'ASC')
      .limit(count)
      .getMany();
  }

  /** The newest `count` verification checkpoints, newest first. */
  newestCheckpoints(count: number): Promise<AuditCheckpoint[]> {
    return this.dataSource.getRepository(AuditCheckpoint).find({ order: { id: 'DESC' }, take: count });
  }

  /**
   * Records a checkpoint. `onlyIfNewest`: skipped when a checkpoint at or past its row exists already, under
   * a transaction lock, so concurrent readers that walked the same rows record it once.
   */
  async insertCheckpoint(checkpoint: Omit<AuditCheckpoint, 'id'>, onlyIfNewest = false): Promise<void> {
    if (!onlyIfNewest) {
      await this.dataSource.getRepository(AuditCheckpoint).insert(checkpoint);
      return;
    }
    await this.dataSource.transaction(async (manager) => {
      await lockForTransaction(manager, AdvisoryLocks.auditCheckpoint);
      const [past] = (await manager.query(`SELECT EXISTS (SELECT 1 FROM audit_checkpoint WHERE seq >= $1::bigint) AS found`, [
        checkpoint.seq,
      ])) as Array<{ found: boolean }>;
      if (!past.found) await manager.getRepository(AuditCheckpoint).insert(checkpoint);
    });
  }

  list(filter: AuditListFilter): Promise<AuditLogEntry[]> {
    const desc = filter.order !== 'asc';
    const qb = this.dataSource
      .getRepository(AuditLogEntry)
      .createQueryBuilder('a')
      .orderBy('a.seq', desc ? 'DESC' : 'ASC')
      .limit(filter.limit);
    if (filter.entityType) qb.andWhere('a.entity_type = :t', { t: filter.entityType });
    if (filter.entityId) qb.andWhere('a.entity_id = :i', { i: filter.entityId });
    if (filter.actor) qb.andWhere('a.actor = :actor', { actor: filter.actor });
    if (filter.from) qb.andWhere('a.occurred_at >= :from', { from: filter.from });
    if (filter.to) qb.andWhere('a.occurred_at < :to', { to: filter.to });
    if (filter.afterSeq) qb.andWhere(desc ? 'a.seq < :s' : 'a.seq > :s', { s: filter.afterSeq });
    return qb.getMany();
  }

  async entityTypes(): Promise<Array<{ entity: string; rows: number }>> {
    return (await this.dataSource.query(
      `SELECT entity_type AS entity, count(*)::int AS rows FROM audit_log GROUP BY entity_type ORDER BY entity_type`,
    )) as Array<{ entity: string; rows: number }>;
  }

  /** The MAC keys that signed audit rows, other than `currentKeyId` (rows a rotated-out key still verifies). */
  async macKeyIdsOtherThan(currentKeyId: string): Promise<string[]> {
    const rows = (await this.dataSource.query(
      `SELECT DISTINCT mac_key_id AS id FROM audit_log WHERE mac_key_id IS NOT NULL AND mac_key_id <> $1 ORDER BY 1`,
      [currentKeyId],
    )) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  async hasEntityType(entityType: string): Promise<boolean> {
    const [row] = (await this.dataSource.query(`SELECT EXISTS (SELECT 1 FROM audit_log WHERE entity_type = $1) AS found`, [
      entityType,
    ])) as Array<{ found: boolean }>;
    return row.found;
  }
}
