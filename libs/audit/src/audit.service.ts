import { createHash } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { Clock } from '@app/clock';
import { type AuditCheckpoint, type AuditLogEntry, type DbTransaction } from '@app/db';
import type { Keyring } from '@app/secrets';
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
  type WalkState,
} from './audit-chain';
import { type AuditChainEnd, type AuditListFilter, AuditRepository } from './audit.repository';
import { canonicalJson } from './canonical-json';

/** An incremental verification records a checkpoint once it has walked this many rows past the last one. */
export const AUDIT_CHECKPOINT_EVERY = 100;

/**
 * Every incremental verification (GET /audit) also re-walks this many rows before the checkpoint it goes
 * on from: a row a read passed stays re-checked by every later read until a checkpoint is recorded this
 * many rows after it (docs/security.md, "Audit trail"). A read walks at most about
 * AUDIT_RECHECK_WINDOW + AUDIT_CHECKPOINT_EVERY rows, plus the rows appended since the last read.
 */
export const AUDIT_RECHECK_WINDOW = 100;

const EMPTY_WALK_STATE: WalkState = { signedSeen: false, pendingRetired: 0, valid: 0, unsignedPrefix: 0, retiredKey: 0 };

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

/** The database an AuditService built by hand (tests, benches, scripts) reads and appends to: its AuditRepository is made from it. */
export type AuditDatabase = ConstructorParameters<typeof AuditRepository>[0];

@Injectable()
export class AuditService {
  private readonly repository: AuditRepository;

  constructor(
    @Inject(AuditRepository) source: AuditRepository | AuditDatabase,
    @Optional() @Inject(AUDIT_KEYRING) private readonly keyring: Keyring | null,
    private readonly clock: Clock,
  ) {
    this.repository = source instanceof AuditRepository ? source : new AuditRepository(source);
  }

  /**
   * Appends one event. Pass the transaction that makes the state change so the change and its audit
   * row commit (or roll back) together. That transaction must be READ COMMITTED: the chain's last row
   * is read after its lock is taken, which a REPEATABLE READ snapshot taken earlier would not see (the
   * append is refused rather than colliding on seq).
   */
  record(event: AuditEvent, tx?: DbTransaction): Promise<AuditLogEntry> {
    return this.repository.append(tx, (end) => this.compose(event, end));
  }

  /** The row that follows `end` in the chain, hashed and (with a keyring) signed. */
  private compose(event: AuditEvent, end: AuditChainEnd): AuditLogEntry {
    const seq = end ? (BigInt(end.seq) + 1n).toString() : '1';
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
      prevHash: end ? end.hash : GENESIS_HASH,
    };
    const hash = auditRowHash(row);
    // The MAC's key is outside the database: whoever can rewrite rows cannot re-sign them.
    const signed = this.keyring ? this.keyring.sign(AUDIT_ROW_MAC, auditMacData(seq, hash)) : null;
    return { ...row, hash, mac: signed?.mac ?? null, macKeyId: signed?.keyId ?? null };
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
   * What `GET /audit` reports in bounded time (two statements): verifies the rows after the newest
   * checkpoint it can trust (its MAC verifies with the keyring; without a keyring, the newest), after
   * checking that the checkpointed row is still in the chain with the hash recorded, and re-walks the
   * `recheckWindow` rows before that checkpoint (links, hashes, MACs), so an edit of a row an earlier read
   * passed is still found for a while. A checkpoint whose MAC does not verify was written without the key:
   * the answer is a failure, never a silent fallback. Older rows are re-verified by the hourly
   * `audit_chain_check` job and `npm run cli -- audit:verify`.
   */
  async verifyFromCheckpoint(
    options: { pageSize?: number; checkpointEvery?: number; recheckWindow?: number } = {},
  ): Promise<ChainVerification> {
    const walk = new ChainWalk(this.keyring);
    const found = await this.trustedCheckpoint();
    if (found && 'problem' in found) return walkResult(walk, found.seq, found.problem, found.ref);
    const checkpoint = found?.checkpoint ?? null;
    if (!checkpoint) return this.checkpointed(walk, await this.walkRows(walk, null, options), options.checkpointEvery);
    const ref: CheckpointRef = {
      id: checkpoint.id,
      seq: checkpoint.seq,
      kind: checkpoint.kind,
      verifiedAt: checkpoint.verifiedAt.toISOString(),
    };
    const window = BigInt(options.recheckWindow ?? AUDIT_RECHECK_WINDOW);
    // One read: the row before the window (its stored hash is where the re-walk starts), the window, the
    // checkpointed row and the rows after it.
    const base = BigInt(checkpoint.seq) - window;
    const rows = await this.repository.pageFrom((base < 1n ? 1n : base).toString(), Number(window) + (options.pageSize ?? 5000));
    const at = rows.findIndex((r) => r.seq === checkpoint.seq);
    if (at === -1)
      return walkResult(
        walk,
        checkpoint.seq,
        `row ${checkpoint.seq}, verified at checkpoint ${checkpoint.id}, is no longer in the chain (the chain was cut back)`,
        ref,
      );
    if (rows[at].hash !== checkpoint.hash)
      return walkResult(
        walk,
        checkpoint.seq,
        `row ${checkpoint.seq} no longer matches checkpoint ${checkpoint.id} (the chain was rewritten)`,
        ref,
      );
    const recheck = new ChainWalk(this.keyring);
    const first = rows[0];
    if (base >= 1n && first.seq === base.toString())
      recheck.resume(first.seq, first.hash, first.mac ?? null, { ...EMPTY_WALK_STATE, signedSeen: !!first.mac });
    for (const row of rows.slice(base >= 1n ? 1 : 0, at + 1)) {
      const problem = recheck.step(row);
      if (problem) return walkResult(walk, row.seq, problem, ref);
    }
    walk.resume(checkpoint.seq, checkpoint.hash, rows[at].mac ?? null, checkpoint.walkState);
    const after = rows.slice(at + 1);
    for (const row of after) {
      const problem = walk.step(row);
      if (problem) return walkResult(walk, row.seq, problem, ref);
    }
    const result =
      rows.length < Number(window) + (options.pageSize ?? 5000) ? this.finished(walk, ref) : await this.walkRows(walk, ref, options);
    return this.checkpointed(walk, result, options.checkpointEvery);
  }

  /** An incremental walk that passed `every` rows or more records where it ended; the answer is unchanged. */
  private async checkpointed(walk: ChainWalk, result: ChainVerification, every = AUDIT_CHECKPOINT_EVERY): Promise<ChainVerification> {
    if (result.ok && walk.checked >= every) await this.recordCheckpoint(walk, 'incremental');
    return result;
  }

  /** The newest checkpoint to go on from; a forged one (MAC invalid) is a problem to report. */
  private async trustedCheckpoint(): Promise<
    { checkpoint: AuditCheckpoint } | { problem: string; seq: string; ref: CheckpointRef } | null
  > {
    const recent = await this.repository.newestCheckpoints(CHECKPOINTS_CONSIDERED);
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
      const rows = await this.repository.pageFrom(walk.expectedSeq.toString(), pageSize);
      for (const row of rows) {
        const problem = walk.step(row);
        if (problem) return walkResult(walk, row.seq, problem, checkpoint);
        if (options.anchor && row.seq === options.anchor.seq) {
          if (row.hash !== options.anchor.hash)
            return walkResult(walk, row.seq, 'the row does not match the anchor recorded for it (the chain was rewritten)', checkpoint);
          anchorSeen = true;
        }
      }
      if (rows.length < pageSize) break; // the chain's end: no empty page read to find it
    }
    if (options.anchor && !anchorSeen)
      return walkResult(walk, options.anchor.seq, 'the anchored row is no longer in the chain (the chain was cut back)', checkpoint);
    return this.finished(walk, checkpoint);
  }

  /** The answer of a walk that reached the chain's end. */
  private finished(walk: ChainWalk, checkpoint: CheckpointRef | null): ChainVerification {
    const problem = walk.finish();
    return walkResult(walk, problem ? (walk.anchor?.seq ?? null) : null, problem, checkpoint);
  }

  /** Records where a successful walk ended, signed with the keyring when there is one. */
  private async recordCheckpoint(walk: ChainWalk, kind: 'full' | 'incremental'): Promise<void> {
    if (!walk.anchor) return;
    const content = { seq: walk.anchor.seq, hash: walk.anchor.hash, kind, verifiedAt: this.clock.now(), walkState: walk.state() };
    const signed = this.keyring ? this.keyring.sign(AUDIT_CHECKPOINT_MAC, checkpointMacData(content)) : null;
    await this.repository.insertCheckpoint(
      { ...content, mac: signed?.mac ?? null, macKeyId: signed?.keyId ?? null },
      kind === 'incremental',
    );
  }

  /**
   * Rows newest first by default (`order: 'asc'`: oldest first); `after` is the last seq of the previous
   * page in that order. Filters: entity type and id, actor, and a time range (`from` inclusive, `to` exclusive).
   */
  list(filter: AuditListFilter): Promise<AuditLogEntry[]> {
    return this.repository.list(filter);
  }

  /** The entity types the log holds, with their row counts (what `GET /audit?entity=` takes). */
  entityTypes(): Promise<Array<{ entity: string; rows: number }>> {
    return this.repository.entityTypes();
  }

  hasEntityType(entityType: string): Promise<boolean> {
    return this.repository.hasEntityType(entityType);
  }
}
