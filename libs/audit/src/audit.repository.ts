import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { advisoryLockCall, AdvisoryLocks, AuditCheckpoint, AuditLogEntry, type DbTransaction, lockForTransaction } from '@app/db';
import { DataSource, type EntityManager } from 'typeorm';

/** Transaction-scoped advisory lock serialising appends to the chain, taken with the isolation check in one round trip. */
const AUDIT_CHAIN_LOCK = advisoryLockCall('pg_advisory_xact_lock', AdvisoryLocks.auditChain);

/** The chain's last row, which the next row links to and whose MAC is checked first (null: the chain is empty). */
export type AuditChainEnd = AuditLogEntry | null;

/** How many checkpoints at or past a new one's row are looked at for a trusted one before recording it. */
const CHECKPOINTS_LOOKED_AT = 50;

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
    const [last] = await manager.getRepository(AuditLogEntry).find({ order: { seq: 'DESC' }, take: 1 });
    const entry = manager.create(AuditLogEntry, compose(last ?? null));
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

  /**
   * Up to `count` verification checkpoints, highest seq first (newest first among equal seqs). `signed`:
   * only those with a MAC whose key id is not one of `retiredKeyIds` (the others cannot be evidence).
   */
  highestCheckpoints(count: number, signed?: { retiredKeyIds: readonly string[] }): Promise<AuditCheckpoint[]> {
    const qb = this.dataSource
      .getRepository(AuditCheckpoint)
      .createQueryBuilder('c')
      .orderBy('c.seq', 'DESC')
      .addOrderBy('c.id', 'DESC')
      .limit(count);
    if (signed) {
      qb.where('c.mac IS NOT NULL AND c.mac_key_id IS NOT NULL');
      if (signed.retiredKeyIds.length) qb.andWhere('c.mac_key_id <> ALL(:retired)', { retired: [...signed.retiredKeyIds] });
    }
    return qb.getMany();
  }

  /**
   * Records a checkpoint. `onlyIfNewest`: skipped when a trusted checkpoint (`trusted`: its MAC verifies)
   * at or past its row exists already, under a transaction lock, so concurrent readers that walked the same
   * rows record it once; untrusted ones (a forged checkpoint far ahead) never stop it.
   */
  async insertCheckpoint(
    checkpoint: Omit<AuditCheckpoint, 'id'>,
    onlyIfNewest?: { trusted: (c: AuditCheckpoint) => boolean },
  ): Promise<void> {
    if (!onlyIfNewest) {
      await this.dataSource.getRepository(AuditCheckpoint).insert(checkpoint);
      return;
    }
    await this.dataSource.transaction(async (manager) => {
      await lockForTransaction(manager, AdvisoryLocks.auditCheckpoint);
      const past = await manager
        .getRepository(AuditCheckpoint)
        .createQueryBuilder('c')
        .where('c.seq >= :seq', { seq: checkpoint.seq })
        .orderBy('c.seq', 'ASC')
        .addOrderBy('c.id', 'ASC')
        .limit(CHECKPOINTS_LOOKED_AT)
        .getMany();
      if (!past.some(onlyIfNewest.trusted)) await manager.getRepository(AuditCheckpoint).insert(checkpoint);
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
