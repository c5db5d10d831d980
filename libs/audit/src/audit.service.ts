import { createHash } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock } from '@app/clock';
import { advisoryLockCall, AdvisoryLocks, AuditCheckpoint, AuditLogEntry } from '@app/db';
import type { Keyring } from '@app/secrets';
import { DataSource, EntityManager } from 'typeorm';
import {
  AUDIT_CHECKPOINT_MAC,
  AUDIT_ROW_MAC,
  auditMacData,
  auditRowHash,
  ChainVerification,
  ChainWalk,
  checkpointMacData,
  type CheckpointRef,
  GENESIS_HASH,
  walkResult,
} from './audit-chain';
import { canonicalJson } from './canonical-json';

/** Transaction-scoped advisory lock serialising appends to the chain, taken with the isolation check in one round trip. */
const AUDIT_CHAIN_LOCK = advisoryLockCall('pg_advisory_xact_lock', AdvisoryLocks.auditChain);

/** An incremental verification records a checkpoint once it has walked this many rows past the last one. */
export const AUDIT_CHECKPOINT_EVERY = 1000;

/** How many of the newest checkpoints are looked at for one that can be trusted before walking from the first row. */
const CHECKPOINTS_CONSIDERED = 50;

export interface AuditEvent {
  actor: string;
  action: string;
  entityType: string;
  entityId: string;
  fromState?: string | null;
  toState?: string | null;
  reason?: string | null;
  details?: Record<string, unknown> | null;
  /** The request body this transition came from; only its SHA-256 is kept. */
  requestBody?: unknown;
}

export function requestBodyHash(body: unknown): string {
  return createHash('sha256')
    .update(canonicalJson(body ?? null))
    .digest('hex');
}

/** The keyring that signs audit rows (null without SECRETS_KEY): provided by AuditModule from the configuration. */
export const AUDIT_KEYRING = Symbol('AUDIT_KEYRING');

@Injectable()
export class AuditService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Optional() @Inject(AUDIT_KEYRING) private readonly keyring: Keyring | null,
    private readonly clock: Clock,
  ) {}

  /**
   * Appends one event. Pass the EntityManager of the transaction that makes the state change so
   * the change and its audit row commit (or roll back) together. That transaction must be READ
   * COMMITTED: the chain's last row is read after its lock is taken, which a REPEATABLE READ
   * snapshot taken earlier would not see (the append is refused rather than colliding on seq).
   */
  async record(event: AuditEvent, manager?: EntityManager): Promise<AuditLogEntry> {
    if (manager) return this.append(manager, event);
    return this.dataSource.transaction((m) => this.append(m, event));
  }

  private async append(manager: EntityManager, event: AuditEvent): Promise<AuditLogEntry> {
    if (!manager.queryRunner?.isTransactionActive) {
      return manager.transaction((m) => this.append(m, event));
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
    const seq = last.length ? (BigInt(last[0].seq) + 1n).toString() : '1';
    const details = event.details ? (JSON.parse(canonicalJson(event.details)) as Record<string, unknown>) : null;
    const row: Omit<AuditLogEntry, 'hash' | 'mac' | 'macKeyId'> = {
      seq,
      occurredAt: this.clock.now(),
      actor: event.actor,
      action: event.action,
      entityType: event.entityType,
      entityId: event.entityId,
      fromState: event.fromState ?? null,
      toState: event.toState ?? null,
      reason: event.reason ?? null,
      details,
      requestHash: event.requestBody === undefined ? null : requestBodyHash(event.requestBody),
      prevHash: last.length ? last[0].hash : GENESIS_HASH,
    };
    const hash = auditRowHash(row);
    // The MAC's key is outside the database: whoever can rewrite rows cannot re-sign them.
    const signed = this.keyring ? this.keyring.sign(AUDIT_ROW_MAC, auditMacData(seq, hash)) : null;
    const entry = manager.create(AuditLogEntry, { ...row, hash, mac: signed?.mac ?? null, macKeyId: signed?.keyId ?? null });
    // jsonb details make TypeORM's deep-partial type balk; the entity is complete.
    await manager.insert(AuditLogEntry, entry as unknown as Parameters<EntityManager['insert']>[1]);
    return entry;
  }

  /**
   * Verifies the whole chain from its first row, reading it in pages: every link and hash, and with a
   * keyring every MAC (docs/security.md, "Audit trail"). `anchor` (a seq and the hash recorded for it
   * outside the database, from an earlier verification) must still be in the chain, unchanged. A
   * chain that verifies leaves a `full` checkpoint that `verifyFromCheckpoint` goes on from.
   */
  async verify(options: { pageSize?: number; anchor?: { seq: string; hash: string } } = {}): Promise<ChainVerification> {
    const walk = new ChainWalk(this.keyring);
    const result = await this.walkRows(walk, null, options);
    if (result.ok) await this.recordCheckpoint(walk, 'full');
    return result;
  }

  /**
   * What `GET /audit` reports in constant time: verifies only the rows after the newest checkpoint it
   * can trust (its MAC verifies with the keyring; without a keyring, the newest), after checking that
   * the checkpointed row is still in the chain with the hash recorded. A checkpoint whose MAC does not
   * verify was written without the key: the answer is a failure, never a silent fallback. Rows before
   * the checkpoint are re-verified by the hourly `audit_chain_check` job and `npm run cli -- audit:verify`.
   */
  async verifyFromCheckpoint(options: { pageSize?: number; checkpointEvery?: number } = {}): Promise<ChainVerification> {
    const walk = new ChainWalk(this.keyring);
    const found = await this.trustedCheckpoint();
    if (found && 'problem' in found) return walkResult(walk, found.seq, found.problem, found.ref);
    const checkpoint = found?.checkpoint ?? null;
    const ref: CheckpointRef | null = checkpoint
      ? { id: checkpoint.id, seq: checkpoint.seq, kind: checkpoint.kind, verifiedAt: checkpoint.verifiedAt.toISOString() }
      : null;
    if (checkpoint) {
      const [row] = (await this.dataSource.query('SELECT hash, mac FROM audit_log WHERE seq = $1', [checkpoint.seq])) as Array<{
        hash: string;
        mac: string | null;
      }>;
      if (!row)
        return walkResult(
          walk,
          checkpoint.seq,
          `row ${checkpoint.seq}, verified at checkpoint ${checkpoint.id}, is no longer in the chain (the chain was cut back)`,
          ref,
        );
      if (row.hash !== checkpoint.hash)
        return walkResult(
          walk,
          checkpoint.seq,
          `row ${checkpoint.seq} no longer matches checkpoint ${checkpoint.id} (the chain was rewritten)`,
          ref,
        );
      walk.resume(checkpoint.seq, checkpoint.hash, row.mac, checkpoint.walkState);
    }
    const result = await this.walkRows(walk, ref, options);
    if (result.ok && walk.checked >= (options.checkpointEvery ?? AUDIT_CHECKPOINT_EVERY)) await this.recordCheckpoint(walk, 'incremental');
    return result;
  }

  /** The newest checkpoint to go on from; a forged one (MAC invalid) is a problem to report. */
  private async trustedCheckpoint(): Promise<
    { checkpoint: AuditCheckpoint } | { problem: string; seq: string; ref: CheckpointRef } | null
  > {
    const recent = await this.dataSource.getRepository(AuditCheckpoint).find({ order: { id: 'DESC' }, take: CHECKPOINTS_CONSIDERED });
    for (const checkpoint of recent) {
      if (!this.keyring) return { checkpoint };
      // Written without a keyring (development, before SECRETS_KEY) or with a retired key: not evidence either way.
      if (!checkpoint.mac || !checkpoint.macKeyId) continue;
      const check = this.keyring.verify(AUDIT_CHECKPOINT_MAC, checkpoint.macKeyId, checkpointMacData(checkpoint), checkpoint.mac);
      if (check === 'valid') return { checkpoint };
      if (check === 'invalid') {
        const ref: CheckpointRef = {
          id: checkpoint.id,
          seq: checkpoint.seq,
          kind: checkpoint.kind,
          verifiedAt: checkpoint.verifiedAt.toISOString(),
        };
        return { problem: `checkpoint ${checkpoint.id} does not verify (written without the key)`, seq: checkpoint.seq, ref };
      }
    }
    return null;
  }

  /** Walks the rows after the walk's position, in pages, to the end of the chain. */
  private async walkRows(
    walk: ChainWalk,
    checkpoint: CheckpointRef | null,
    options: { pageSize?: number; anchor?: { seq: string; hash: string } },
  ): Promise<ChainVerification> {
    const pageSize = options.pageSize ?? 5000;
    let anchorSeen = false;
    for (;;) {
      const rows = await this.dataSource
        .getRepository(AuditLogEntry)
        .createQueryBuilder('a')
        .where('a.seq >= :from', { from: walk.expectedSeq.toString() })
        .orderBy('a.seq', 'ASC')
        .limit(pageSize)
        .getMany();
      if (rows.length === 0) break;
      for (const row of rows) {
        const problem = walk.step(row);
        if (problem) return walkResult(walk, row.seq, problem, checkpoint);
        if (options.anchor && row.seq === options.anchor.seq) {
          if (row.hash !== options.anchor.hash)
            return walkResult(walk, row.seq, 'the row does not match the anchor recorded for it (the chain was rewritten)', checkpoint);
          anchorSeen = true;
        }
      }
    }
    if (options.anchor && !anchorSeen)
      return walkResult(walk, options.anchor.seq, 'the anchored row is no longer in the chain (the chain was cut back)', checkpoint);
    const problem = walk.finish();
    return walkResult(walk, problem ? (walk.anchor?.seq ?? null) : null, problem, checkpoint);
  }

  /** Records where a successful walk ended, signed with the keyring when there is one. */
  private async recordCheckpoint(walk: ChainWalk, kind: 'full' | 'incremental'): Promise<void> {
    if (!walk.anchor) return;
    const content = { seq: walk.anchor.seq, hash: walk.anchor.hash, kind, verifiedAt: this.clock.now(), walkState: walk.state() };
    const signed = this.keyring ? this.keyring.sign(AUDIT_CHECKPOINT_MAC, checkpointMacData(content)) : null;
    await this.dataSource.getRepository(AuditCheckpoint).insert({ ...content, mac: signed?.mac ?? null, macKeyId: signed?.keyId ?? null });
  }

  /**
   * Rows newest first by default (`order: 'asc'`: oldest first); `after` is the last seq of the previous
   * page in that order. Filters: entity type and id, actor, and a time range (`from` inclusive, `to` exclusive).
   */
  async list(filter: {
    entityType?: string;
    entityId?: string;
    actor?: string;
    from?: Date;
    to?: Date;
    order?: 'asc' | 'desc';
    afterSeq?: string;
    limit: number;
  }): Promise<AuditLogEntry[]> {
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

  /** The entity types the log holds, with their row counts (what `GET /audit?entity=` takes). */
  async entityTypes(): Promise<Array<{ entity: string; rows: number }>> {
    const rows = (await this.dataSource.query(
      `SELECT entity_type AS entity, count(*)::int AS rows FROM audit_log GROUP BY entity_type ORDER BY entity_type`,
    )) as Array<{ entity: string; rows: number }>;
    return rows;
  }

  async hasEntityType(entityType: string): Promise<boolean> {
    const [row] = (await this.dataSource.query(`SELECT EXISTS (SELECT 1 FROM audit_log WHERE entity_type = $1) AS found`, [
      entityType,
    ])) as Array<{ found: boolean }>;
    return row.found;
  }
}
