import { createHash } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { Clock } from '@app/clock';
import { type AuditCheckpoint, type AuditLogEntry, type DbTransaction } from '@app/db';
import type { Keyring, MacCheck } from '@app/secrets';
import {
  AUDIT_CHECKPOINT_MAC,
  AUDIT_ROW_MAC,
  auditMacData,
  auditRowHash,
  type AuditReadRow,
  ChainVerification,
  ChainWalk,
  checkpointMacData,
  type CheckpointRef,
  GENESIS_HASH,
  VerifiedRowMemo,
  walkResult,
  type WalkState,
  parsedRow,
} from './audit-chain';
import { type AuditChainEnd, type AuditListFilter, AuditRepository } from './audit.repository';
import { canonicalJson } from './canonical-json';

/** An incremental verification records a checkpoint once it has walked this many rows past the last one. */
export const AUDIT_CHECKPOINT_EVERY = 100;

/**
 * Every incremental verification (GET /audit) re-walks this many rows before the checkpoint it goes on
 * from, and records its own checkpoint this many rows behind the end of its walk: every row a verification
 * passed is re-walked by every later read until at least this many newer rows exist (docs/security.md,
 * "Audit trail"). A read walks at most about 2 × AUDIT_RECHECK_WINDOW + AUDIT_CHECKPOINT_EVERY rows, plus
 * the rows appended since the last read.
 */
export const AUDIT_RECHECK_WINDOW = 100;

/** The lowest bigint: a read of the chain from its start takes rows below seq 1 too (readFrom). */
const BEFORE_ANY_SEQ = '-9223372036854775808';

/** One read of the chain by a verification: its rows in seq order, whether it reached the chain's end, whether it began at the start. */
export interface ChainRead {
  rows: AuditReadRow[];
  toEnd: boolean;
  fromStart: boolean;
}

/** A verification of `GET /audit` and the last read it made (the chain's end when it got there). */
export interface SharedVerification {
  chain: ChainVerification;
  last: ChainRead | undefined;
}

/** A row a walk must find unchanged: `changed` and `missing` are the problems reported otherwise. */
interface RowAnchor {
  seq: string;
  hash: string;
  changed: string;
  missing: string;
}

const checkpointRef = (c: AuditCheckpoint): CheckpointRef => ({
  id: c.id,
  seq: c.seq,
  kind: c.kind,
  verifiedAt: c.verifiedAt.toISOString(),
});

/** The row of a trusted checkpoint: a full walk must still find it (a chain cut back or rewritten below it fails). */
const checkpointAnchor = (c: AuditCheckpoint): RowAnchor => ({
  seq: c.seq,
  hash: c.hash,
  changed: `row ${c.seq} no longer matches checkpoint ${c.id} (the chain was rewritten)`,
  missing: `row ${c.seq}, verified at checkpoint ${c.id}, is no longer in the chain (the chain was cut back)`,
});

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
  /**
   * Rows the incremental verification (`verifyFromCheckpoint`, GET /audit) passed lately: unchanged, they
   * are not hashed or MAC-checked again by the next reads (VerifiedRowMemo). The full walk (`verify`:
   * `audit:verify`, the hourly job) checks every row itself.
   */
  private readonly verifiedRows = new VerifiedRowMemo();
  /**
   * The shared verification (`sharedVerification`) reading now, and the one queued to start when it
   * ends: concurrent `GET /audit` calls run at most these two, however many callers there are.
   */
  private running: Promise<SharedVerification> | null = null;
  private queued: Promise<SharedVerification> | null = null;

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
    if (end) {
      // Signing over a forged tail would vouch for it: the append is refused until the chain is repaired.
      const problem = new ChainWalk(this.keyring).startAt(end);
      if (problem)
        throw new Error(
          `audit chain: the last row (seq ${end.seq}) does not verify (${problem}); appends are refused until it is repaired: run \`npm run cli -- audit:verify\` (the hourly audit_chain_check raises audit.verification_failed)`,
        );
    }
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
   * outside the database, from an earlier verification) must still be in the chain, unchanged; so must,
   * with a keyring, the row of the highest trusted checkpoint (a chain cut back below it fails). A chain
   * that verifies leaves a `full` checkpoint that `verifyFromCheckpoint` goes on from.
   */
  async verify(options: { pageSize?: number; anchor?: { seq: string; hash: string } } = {}): Promise<ChainVerification> {
    const walk = new ChainWalk(this.keyring);
    // Without a keyring no checkpoint is evidence (anyone who writes rows writes checkpoints): the bare chain only.
    const found = this.keyring ? await this.trustedCheckpoint() : null;
    if (found && 'problem' in found) return walkResult(walk, found.seq, found.problem, found.ref);
    const anchors: RowAnchor[] = [];
    if (options.anchor)
      anchors.push({
        ...options.anchor,
        changed: 'the row does not match the anchor recorded for it (the chain was rewritten)',
        missing: 'the anchored row is no longer in the chain (the chain was cut back)',
      });
    if (found) anchors.push(checkpointAnchor(found.checkpoint));
    const result = await this.walkRows(walk, null, { pageSize: options.pageSize, anchors });
    if (result.ok && walk.anchor) await this.recordCheckpoint(walk.anchor, walk.state(), 'full');
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
    options: { pageSize?: number; checkpointEvery?: number; recheckWindow?: number; onRead?: (read: ChainRead) => void } = {},
  ): Promise<ChainVerification> {
    const walk = new ChainWalk(this.keyring, this.verifiedRows);
    const window = BigInt(options.recheckWindow ?? AUDIT_RECHECK_WINDOW);
    walk.keepTrail(Number(window));
    const found = await this.trustedCheckpoint();
    if (found && 'problem' in found) return walkResult(walk, found.seq, found.problem, found.ref);
    const checkpoint = found?.checkpoint ?? null;
    const every = options.checkpointEvery ?? AUDIT_CHECKPOINT_EVERY;
    if (!checkpoint) return this.checkpointed(walk, await this.walkRows(walk, null, options), 0n, every, window);
    const ref = checkpointRef(checkpoint);
    // One read: the row before the window (its stored hash is where the re-walk starts), the window, the
    // checkpointed row and the rows after it.
    const base = BigInt(checkpoint.seq) - window;
    const rows = await this.readFrom(base < 1n ? 'start' : base, Number(window) + (options.pageSize ?? 5000), options.onRead);
    const at = rows.findIndex((r) => r.seq === checkpoint.seq);
    const anchor = checkpointAnchor(checkpoint);
    if (at === -1) return walkResult(walk, checkpoint.seq, anchor.missing, ref);
    if (rows[at].hash !== checkpoint.hash) return walkResult(walk, checkpoint.seq, anchor.changed, ref);
    const recheck = new ChainWalk(this.keyring, this.verifiedRows);
    if (base >= 1n) {
      // The base row is checked on its own (content and MAC): the re-walk starts from its hash.
      if (rows[0].seq !== base.toString()) return walkResult(walk, base.toString(), `row ${base} is missing (deleted)`, ref);
      const problem = recheck.startAt(rows[0]);
      if (problem) return walkResult(walk, base.toString(), problem, ref);
    }
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
    return this.checkpointed(walk, result, BigInt(checkpoint.seq), every, window);
  }

  /**
   * A successful incremental walk records a checkpoint `window` rows behind where it ended (so the rows it
   * passed last are re-walked by the next reads), once that is `every` rows or more past `from` (the seq of
   * the checkpoint it went on from, 0 for none); the answer is unchanged.
   */
  private async checkpointed(
    walk: ChainWalk,
    result: ChainVerification,
    from: bigint,
    every: number,
    window: bigint,
  ): Promise<ChainVerification> {
    const at = result.ok ? walk.behind(Number(window)) : null;
    if (at && BigInt(at.anchor.seq) - from >= BigInt(every)) await this.recordCheckpoint(at.anchor, at.state, 'incremental');
    return result;
  }

  /**
   * The checkpoint with the highest seq to go on from: with a keyring, only signed ones whose key is not
   * retired are looked at, and one whose MAC does not verify or whose key the ring does not know is a problem
   * to report, never passed over.
   */
  private async trustedCheckpoint(): Promise<
    { checkpoint: AuditCheckpoint } | { problem: string; seq: string; ref: CheckpointRef } | null
  > {
    const keyring = this.keyring;
    if (!keyring) {
      const [highest] = await this.repository.highestCheckpoints(1);
      return highest ? { checkpoint: highest } : null;
    }
    // Unsigned ones (development, before SECRETS_KEY) and those of a retired key are not evidence either way.
    const candidates = await this.repository.highestCheckpoints(CHECKPOINTS_CONSIDERED, { retiredKeyIds: keyring.retiredKeyIds });
    for (const checkpoint of candidates) {
      const check = this.checkpointMac(checkpoint);
      if (check === 'valid') return { checkpoint };
      if (check === 'retired_key') continue;
      const why =
        check === 'invalid' ? 'written without the key' : `signed with key ${checkpoint.macKeyId}, which the keyring does not know`;
      return { problem: `checkpoint ${checkpoint.id} does not verify (${why})`, seq: checkpoint.seq, ref: checkpointRef(checkpoint) };
    }
    return null;
  }

  private checkpointMac(checkpoint: AuditCheckpoint): MacCheck {
    if (!this.keyring) return 'valid';
    if (!checkpoint.mac || !checkpoint.macKeyId) return 'unknown_key';
    return this.keyring.verify(AUDIT_CHECKPOINT_MAC, checkpoint.macKeyId, checkpointMacData(checkpoint), checkpoint.mac);
  }

  /** Walks the rows after the walk's position, in pages, to the end of the chain. */
  private async walkRows(
    walk: ChainWalk,
    checkpoint: CheckpointRef | null,
    options: { pageSize?: number; anchors?: RowAnchor[]; onRead?: (read: ChainRead) => void },
  ): Promise<ChainVerification> {
    const pageSize = options.pageSize ?? 5000;
    const anchors = options.anchors ?? [];
    const seen = new Set<RowAnchor>();
    for (;;) {
      const rows = await this.readFrom(
        checkpoint === null && walk.expectedSeq === 1n ? 'start' : walk.expectedSeq,
        pageSize,
        options.onRead,
      );
      for (const row of rows) {
        const problem = walk.step(row);
        if (problem) return walkResult(walk, row.seq, problem, checkpoint);
        for (const anchor of anchors) {
          if (row.seq !== anchor.seq) continue;
          if (row.hash !== anchor.hash) return walkResult(walk, row.seq, anchor.changed, checkpoint);
          seen.add(anchor);
        }
      }
      if (rows.length < pageSize) break; // the chain's end: no empty page read to find it
    }
    const missing = anchors.find((a) => !seen.has(a));
    if (missing) return walkResult(walk, missing.seq, missing.missing, checkpoint);
    return this.finished(walk, checkpoint);
  }

  /**
   * Up to `count` rows of the chain in seq order from `from`. From the chain's `start`, every row is read,
   * those below seq 1 too: a row inserted before the first is walked (and fails it, "expected seq 1"),
   * never skipped by the read.
   */
  private async readFrom(from: bigint | 'start', count: number, onRead?: (read: ChainRead) => void): Promise<AuditReadRow[]> {
    const rows = await this.repository.pageFrom(from === 'start' ? BEFORE_ANY_SEQ : from.toString(), count);
    onRead?.({ rows, toEnd: rows.length < count, fromStart: from === 'start' });
    return rows;
  }

  /**
   * `GET /audit`'s first page without filters, newest first, with the chain verified from the checkpoint
   * (sharedVerification). The page is the end of the verification's last read whenever that read reached
   * the chain's end holding `count` rows or the whole chain: one statement fewer, and the page and the
   * verdict read together. Otherwise (a walk stopped early, a shorter last read) the page is read on its own.
   */
  async newestWithChain(count: number): Promise<{ rows: AuditLogEntry[]; chain: ChainVerification }> {
    const { chain, last } = await this.sharedVerification();
    const tail =
      last?.toEnd && (last.rows.length >= count || last.fromStart) ? last.rows.slice(-count).reverse().map(parsedRow) : undefined;
    return { rows: tail ?? (await this.list({ order: 'desc', limit: count })), chain };
  }

  /**
   * The verdict `GET /audit` reports (verifyFromCheckpoint with its defaults), one verification shared by
   * the callers that wait for it at the same time (issue 18: any viewer could make the API walk the chain's
   * end on every call; with a keyring a walk costs about ten requests of `/health/live`). A caller never
   * gets a verdict or rows from a read that began before it called: with no verification running it starts
   * one; with one running it waits for the next, which starts when the running one ends (one queued for all
   * who arrive meanwhile). So a row committed before the call is in what it is answered, an edit made before
   * the call is found as a lone caller's would be, and concurrent callers cost at most two walks at a time.
   * The verdict and the rows are shared: callers copy, never change them.
   */
  sharedVerification(): Promise<SharedVerification> {
    // Queued: it has not begun (it is dropped from here as it begins), so it reads after this call.
    if (this.queued) return this.queued;
    if (!this.running) return this.startVerification();
    const ended = () => undefined;
    this.queued = this.running.then(ended, ended).then(() => {
      this.queued = null;
      return this.startVerification();
    });
    return this.queued;
  }

  private startVerification(): Promise<SharedVerification> {
    let last: ChainRead | undefined;
    const run = this.verifyFromCheckpoint({ onRead: (read) => (last = read) }).then((chain) => ({ chain, last }));
    this.running = run;
    const ended = () => {
      if (this.running === run) this.running = null;
    };
    run.then(ended, ended);
    return run;
  }

  /** The answer of a walk that reached the chain's end. */
  private finished(walk: ChainWalk, checkpoint: CheckpointRef | null): ChainVerification {
    const problem = walk.finish();
    return walkResult(walk, problem ? (walk.anchor?.seq ?? null) : null, problem, checkpoint);
  }

  /** Records a row a successful walk passed, and the walk's state there, signed with the keyring when there is one. */
  private async recordCheckpoint(at: { seq: string; hash: string }, walkState: WalkState, kind: 'full' | 'incremental'): Promise<void> {
    const content = { seq: at.seq, hash: at.hash, kind, verifiedAt: this.clock.now(), walkState };
    const signed = this.keyring ? this.keyring.sign(AUDIT_CHECKPOINT_MAC, checkpointMacData(content)) : null;
    await this.repository.insertCheckpoint(
      { ...content, mac: signed?.mac ?? null, macKeyId: signed?.keyId ?? null },
      kind === 'incremental' ? { trusted: (c) => this.checkpointMac(c) === 'valid' } : undefined,
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
