import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  advisoryLockCall,
  AdvisoryLocks,
  AuditCheckpoint,
  AuditLogEntry,
  type DbTransaction,
  lockForTransaction,
  pageLimit,
  preparedRows,
} from '@app/db';
import { DataSource, type EntityManager } from 'typeorm';
import type { AuditReadRow } from './audit-chain';

/** Transaction-scoped advisory lock serialising appends to the chain, taken with the isolation check in one round trip. */
const AUDIT_CHAIN_LOCK = advisoryLockCall('pg_advisory_xact_lock', AdvisoryLocks.auditChain);

/** The chain's last row, which the next row links to and whose MAC is checked first (null: the chain is empty). */
export type AuditChainEnd = AuditLogEntry | null;

/** How many checkpoints at or past a new one's row are looked at for a trusted one before recording it. */
const CHECKPOINTS_LOOKED_AT = 50;

/**
 * An audit row's columns under its entity's property names (seq as text, occurred_at a Date, details
 * parsed): the reads of every `GET /audit` select them in plain SQL, the query builder and its entity
 * mapping cost the route more than the statements (issue 18).
 */
const auditRowColumns = (seq: string, occurredAt: string, details: string) => `${seq}, ${occurredAt}, actor, action,
  entity_type AS "entityType", entity_id AS "entityId", from_state AS "fromState", to_state AS "toState", reason, ${details},
  request_hash AS "requestHash", prev_hash AS "prevHash", hash, mac, mac_key_id AS "macKeyId"`;
const AUDIT_ROW_COLUMNS = auditRowColumns('seq::text AS seq', 'occurred_at AS "occurredAt"', 'details');

/**
 * The same with `occurred_at` and `details` under the names of their text (AuditReadRow): what a
 * verification reads, every value as the server sent it (`wireText`, `seq` too), no cast in the statement.
 */
const AUDIT_READ_ROW_COLUMNS = auditRowColumns('seq', 'occurred_at AS "occurredAtText"', 'details AS "detailsText"');

/**
 * A row count the code chose (never a client's), written into a prepared statement's text as its LIMIT:
 * the verification's read sizes (5,100 and 5,000 rows, 50 checkpoints; tests pass a few smaller ones),
 * so the statements stay a handful, as prepared-read.ts asks of page limits.
 */
function countConstant(count: number): string {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`a row count is a positive integer (got ${count})`);
  return String(count);
}

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

  /**
   * Up to `count` rows from `fromSeq` on, in seq order, for a verification: every column as the server's
   * text (AuditReadRow), which a walk parses only for the rows it hashes (VerifiedRowMemo), frozen.
   */
  async pageFrom(fromSeq: string, count: number): Promise<AuditReadRow[]> {
    const rows = await preparedRows<AuditReadRow>(
      this.dataSource,
      `SELECT ${AUDIT_READ_ROW_COLUMNS} FROM audit_log a WHERE a.seq >= $1 ORDER BY a.seq LIMIT ${countConstant(count)}`,
      [fromSeq],
      { wireText: true },
    );
    // Frozen: a walk's memo keeps these very rows as what it verified, and its readers share them.
    return rows.map((row) => Object.freeze(row));
  }

  /**
   * Up to `count` verification checkpoints, highest seq first (newest first among equal seqs). `signed`:
   * only those with a MAC whose key id is not one of `retiredKeyIds` (the others cannot be evidence).
   */
  async highestCheckpoints(count: number, signed?: { retiredKeyIds: readonly string[] }): Promise<AuditCheckpoint[]> {
    const where = signed
      ? `WHERE c.mac IS NOT NULL AND c.mac_key_id IS NOT NULL${signed.retiredKeyIds.length ? ' AND c.mac_key_id <> ALL($1::text[])' : ''}`
      : '';
    return preparedRows<AuditCheckpoint>(
      this.dataSource,
      `SELECT id::text AS id, seq::text AS seq, hash, kind, verified_at AS "verifiedAt", walk_state AS "walkState", mac, mac_key_id AS "macKeyId"
         FROM audit_checkpoint c ${where} ORDER BY c.seq DESC, c.id DESC LIMIT ${countConstant(count)}`,
      signed?.retiredKeyIds.length ? [[...signed.retiredKeyIds]] : [],
    );
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

  /**
   * A page of the log, each filter shape one prepared statement (libs/db/src/prepared-read.ts): every
   * `GET /audit` reads one, and its two verification reads (highestCheckpoints, pageFrom) are prepared too.
   */
  async list(filter: AuditListFilter): Promise<AuditLogEntry[]> {
    const desc = filter.order !== 'asc';
    const params: unknown[] = [];
    const where: string[] = [];
    if (filter.entityType) where.push(`entity_type = $${params.push(filter.entityType)}`);
    if (filter.entityId) where.push(`entity_id = $${params.push(filter.entityId)}`);
    if (filter.actor) where.push(`actor = $${params.push(filter.actor)}`);
    if (filter.from) where.push(`occurred_at >= $${params.push(filter.from)}`);
    if (filter.to) where.push(`occurred_at < $${params.push(filter.to)}`);
    if (filter.afterSeq) where.push(`a.seq ${desc ? '<' : '>'} $${params.push(filter.afterSeq)}::bigint`);
    const limit = pageLimit(filter.limit);
    return limit.take(
      await preparedRows<AuditLogEntry>(
        this.dataSource,
        `SELECT ${AUDIT_ROW_COLUMNS} FROM audit_log a ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY a.seq ${desc ? 'DESC' : 'ASC'} LIMIT ${limit.sql}`,
        params,
      ),
    );
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
