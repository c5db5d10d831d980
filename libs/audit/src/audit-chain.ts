import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Keyring, MacCheck } from '@app/secrets';
import { canonicalJson } from './canonical-json';

/** The MAC purpose of audit rows (docs/security.md, "Audit trail"). */
export const AUDIT_ROW_MAC = 'audit-row';

/** The MAC purpose of verification checkpoints: a row's MAC never passes for a checkpoint's. */
export const AUDIT_CHECKPOINT_MAC = 'audit-checkpoint';

/** What a row's MAC covers: its position and its hash (which covers its content and the chain before it). */
export const auditMacData = (seq: string, hash: string) => `${seq}.${hash}`;

export const GENESIS_HASH = '0'.repeat(64);

/** The fields of an audit row that its hash covers. */
export interface AuditRowContent {
  seq: string;
  occurredAt: Date;
  actor: string;
  action: string;
  entityType: string;
  entityId: string;
  fromState: string | null;
  toState: string | null;
  reason: string | null;
  details: Record<string, unknown> | null;
  requestHash: string | null;
  prevHash: string;
}

/** The canonical text a row's hash is taken over. */
export function auditRowMaterial(row: AuditRowContent): string {
  return canonicalJson([
    row.seq,
    row.occurredAt.toISOString(),
    row.actor,
    row.action,
    row.entityType,
    row.entityId,
    row.fromState,
    row.toState,
    row.reason,
    row.details,
    row.requestHash,
    row.prevHash,
  ]);
}

const sha256Hex = (material: string) => createHash('sha256').update(material).digest('hex');

export function auditRowHash(row: AuditRowContent): string {
  return sha256Hex(auditRowMaterial(row));
}

export type AuditChainRow = AuditRowContent & { hash: string; mac?: string | null; macKeyId?: string | null };

/**
 * A row as the verification reads it (`AuditRepository.pageFrom`): every column as the text the server
 * sent, `occurred_at` and `details` parsed only when the row is hashed or listed (`parsedRow`).
 */
export type AuditReadRow = Omit<AuditRowContent, 'occurredAt' | 'details'> & {
  occurredAtText: string;
  detailsText: string | null;
  hash: string;
  mac: string | null;
  macKeyId: string | null;
};

const isReadRow = (row: AuditChainRow | AuditReadRow): row is AuditReadRow => 'detailsText' in row;

/** The driver's own parser of a timestamptz's text (what a `Date` column of a row read the usual way is made by). */
const parseTimestamptz = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ, 'text') as (text: string) => Date;

/** The row with `occurred_at` and `details` parsed as the driver parses those columns (a Date; `JSON.parse` of the jsonb's text). */
export function parsedRow<R extends AuditReadRow>(
  row: R,
): Omit<R, 'occurredAtText' | 'detailsText'> & { occurredAt: Date; details: Record<string, unknown> | null } {
  const { occurredAtText, detailsText, ...rest } = row;
  return {
    ...rest,
    occurredAt: parseTimestamptz(occurredAtText),
    details: detailsText === null ? null : (JSON.parse(detailsText) as Record<string, unknown>),
  };
}

/**
 * The columns of a read row that a memo compares: every column the hash covers, as text, and the hash,
 * MAC and key id. The type makes a column added to the read row fail to compile until it is listed here.
 */
const MEMO_COLUMNS = {
  seq: true,
  occurredAtText: true,
  actor: true,
  action: true,
  entityType: true,
  entityId: true,
  fromState: true,
  toState: true,
  reason: true,
  detailsText: true,
  requestHash: true,
  prevHash: true,
  hash: true,
  mac: true,
  macKeyId: true,
} satisfies Record<keyof AuditReadRow, true>;
const memoColumns = Object.keys(MEMO_COLUMNS) as Array<keyof typeof MEMO_COLUMNS>;

/** Rows a `VerifiedRowMemo` keeps: about three times what one `GET /audit` walks (docs/security.md). */
export const VERIFIED_ROW_MEMO_ROWS = 1_000;

/** A row as a walk verified it, as it was read, and the MAC's verdict. */
interface VerifiedRow {
  row: AuditReadRow;
  /** The keyring's verdict on the MAC ('valid' or 'retired_key'), null for a row without one or a walk without a keyring. */
  macCheck: MacCheck | null;
}

/**
 * The rows one verifier (an `AuditService`, one keyring for its life) verified lately, by seq (issue 18:
 * every `GET /audit` re-walks about 200 rows it walked before; with a keyring their SHA-256 and HMAC were
 * about a quarter of its CPU, and their canonical JSON most of what remained). A row read again with
 * exactly the text the server sent for every column its hash covers (`occurred_at` and `details`
 * included), the same stored hash, MAC and key id, is not parsed, canonicalised, hashed
 * or MAC-checked again: the text of a row determines its parsed content, so both checks would give the
 * same answer. Any difference in any of those columns misses, and the row is checked in full. The walk's
 * own checks (seq, link to the previous row, the MAC walk's state) run on every row either way. Only rows
 * that passed are kept; the oldest go first.
 */
export class VerifiedRowMemo {
  private readonly rows = new Map<string, VerifiedRow>();

  constructor(readonly capacity = VERIFIED_ROW_MEMO_ROWS) {}

  get size(): number {
    return this.rows.size;
  }

  /** What was verified for this row, when it is column for column the row verified then. */
  match(row: AuditReadRow): VerifiedRow | undefined {
    const known = this.rows.get(row.seq);
    if (!known) return undefined;
    for (const column of memoColumns) if ((known.row[column] ?? null) !== (row[column] ?? null)) return undefined;
    return known;
  }

  remember(row: AuditReadRow, macCheck: MacCheck | null): void {
    this.rows.delete(row.seq);
    this.rows.set(row.seq, { row, macCheck });
    for (const seq of this.rows.keys()) {
      if (this.rows.size <= this.capacity) break;
      this.rows.delete(seq);
    }
  }
}

export interface ChainVerification {
  ok: boolean;
  checked: number;
  /** First row whose link, content or MAC does not verify. */
  firstBrokenSeq: string | null;
  problem: string | null;
  /** The keyed MACs: checked only when a keyring (SECRETS_KEY) is configured. */
  macs: MacSummary;
  /** The last row verified: record it outside the database and check it later with `audit:verify --anchor`. */
  anchor: { seq: string; hash: string; mac: string | null } | null;
  /**
   * The verification checkpoint the walk started after (its rows up to `seq` were verified then and are
   * not re-read; `checked` counts the rows after it), or null when the walk started at the chain's first row.
   */
  checkpoint: CheckpointRef | null;
}

export interface CheckpointRef {
  id: string;
  seq: string;
  kind: 'full' | 'incremental';
  verifiedAt: string;
}

/** The MAC walk's state after a row: what a checkpoint stores so a later walk goes on from it. */
export interface WalkState {
  signedSeen: boolean;
  pendingRetired: number;
  valid: number;
  unsignedPrefix: number;
  retiredKey: number;
}

/** What a checkpoint's MAC covers: every column but its id. */
export const checkpointMacData = (c: { seq: string; hash: string; kind: string; verifiedAt: Date; walkState: WalkState }) =>
  canonicalJson([c.seq, c.hash, c.kind, c.verifiedAt.toISOString(), c.walkState]);

export interface MacSummary {
  checked: boolean;
  /** Rows whose MAC verified with a key of the ring. */
  valid: number;
  /** Rows written before any signed row (before the MAC existed, or without a keyring): covered by the first signed row after them. */
  unsignedPrefix: number;
  /** Rows signed with a key no longer in the ring: covered by a later row signed with a key of the ring. */
  retiredKey: number;
}

/** The state of a verification walk, carried from page to page. */
export class ChainWalk {
  prev = GENESIS_HASH;
  expectedSeq = 1n;
  checked = 0;
  macs: MacSummary;
  private signedSeen = false;
  private pendingRetired = 0;
  anchor: ChainVerification['anchor'] = null;

  constructor(
    private readonly keyring: Keyring | null,
    /** Rows verified before by the same verifier (same keyring), not hashed or MAC-checked again when unchanged. */
    private readonly memo: VerifiedRowMemo | null = null,
  ) {
    this.macs = { checked: keyring !== null, valid: 0, unsignedPrefix: 0, retiredKey: 0 };
  }

  /** Goes on after row `seq` (hash `hash`) verified earlier, in the MAC state recorded then. */
  resume(seq: string, hash: string, mac: string | null, state: WalkState): void {
    this.anchor = { seq, hash, mac };
    this.prev = hash;
    this.expectedSeq = BigInt(seq) + 1n;
    this.signedSeen = state.signedSeen;
    this.pendingRetired = state.pendingRetired;
    this.macs = { ...this.macs, valid: state.valid, unsignedPrefix: state.unsignedPrefix, retiredKey: state.retiredKey };
  }

  state(): WalkState {
    return {
      signedSeen: this.signedSeen,
      pendingRetired: this.pendingRetired,
      valid: this.macs.valid,
      unsignedPrefix: this.macs.unsignedPrefix,
      retiredKey: this.macs.retiredKey,
    };
  }

  /**
   * Starts the walk at `row`, checked on its own (content against its hash, and its MAC), without the link
   * before it: the base of a re-check window. Returns the problem, or null.
   */
  startAt(row: AuditChainRow | AuditReadRow): string | null {
    const problem = this.checkRow(row);
    if (problem) return problem;
    this.prev = row.hash;
    this.expectedSeq = BigInt(row.seq) + 1n;
    this.anchor = { seq: row.seq, hash: row.hash, mac: row.mac ?? null };
    return null;
  }

  /** Checks the next row; returns the problem, or null. */
  step(row: AuditChainRow | AuditReadRow): string | null {
    if (BigInt(row.seq) !== this.expectedSeq) return `expected seq ${this.expectedSeq}, found ${row.seq} (a row is missing)`;
    if (row.prevHash !== this.prev) return 'prev_hash does not match the previous row';
    const problem = this.checkRow(row);
    if (problem) return problem;
    this.prev = row.hash;
    this.expectedSeq += 1n;
    this.checked += 1;
    this.anchor = { seq: row.seq, hash: row.hash, mac: row.mac ?? null };
    if (this.trailLength >= 0) {
      this.trail.push({ anchor: this.anchor, state: this.state() });
      if (this.trail.length > this.trailLength + 1) this.trail.shift();
    }
    return null;
  }

  private trailLength = -1;
  private trail: Array<{ anchor: NonNullable<ChainVerification['anchor']>; state: WalkState }> = [];

  /** Keeps the position and state after each of the last `rows` rows walked, for `behind`. */
  keepTrail(rows: number): void {
    this.trailLength = rows;
  }

  /** The position and state `rows` rows before the walk's end (kept by `keepTrail`), or null when the walk passed fewer. */
  behind(rows: number): { anchor: NonNullable<ChainVerification['anchor']>; state: WalkState } | null {
    const at = this.trail.length - 1 - rows;
    return at >= 0 ? this.trail[at] : null;
  }

  /** The end of the chain: rows signed only with retired keys and not covered by a later MAC fail. */
  finish(): string | null {
    if (this.pendingRetired > 0)
      return `the last ${this.pendingRetired} row(s) are signed with a key the keyring no longer holds: put it back in SECRETS_KEY_PREVIOUS`;
    return null;
  }

  /** The row's content against its hash, and its MAC (the walk's MAC state moves with it); the problem, or null. */
  private checkRow(row: AuditChainRow | AuditReadRow): string | null {
    const known = isReadRow(row) ? this.memo?.match(row) : undefined;
    if (!known && auditRowHash(isReadRow(row) ? parsedRow(row) : row) !== row.hash) return 'row content does not match its hash (edited)';
    let macCheck: MacCheck | null = null;
    if (this.keyring) {
      const checked = this.checkMac(this.keyring, row, known?.macCheck ?? undefined);
      if (typeof checked === 'string') return checked;
      macCheck = checked.check;
    }
    if (isReadRow(row)) this.memo?.remember(row, macCheck);
    return null;
  }

  /** The problem with the row's MAC, or the keyring's verdict on it (null: the row has none); `known`: the verdict a memo kept. */
  private checkMac(keyring: Keyring, row: AuditChainRow | AuditReadRow, known: MacCheck | undefined): string | { check: MacCheck | null } {
    if (!row.mac || !row.macKeyId) {
      if (this.signedSeen) return 'row has no MAC after signed rows (written without the key: a rewrite)';
      this.macs.unsignedPrefix += 1;
      return { check: null };
    }
    const check = known ?? keyring.verify(AUDIT_ROW_MAC, row.macKeyId, auditMacData(row.seq, row.hash), row.mac);
    if (check === 'invalid') return 'row MAC does not verify (rewritten without the key)';
    if (check === 'unknown_key')
      return `row is signed with key ${row.macKeyId}, which is neither in the keyring nor retired (SECRETS_KEY_RETIRED_IDS): a forgery`;
    this.signedSeen = true;
    if (check === 'retired_key') {
      this.macs.retiredKey += 1;
      this.pendingRetired += 1;
    } else {
      this.macs.valid += 1;
      this.pendingRetired = 0;
    }
    return { check };
  }
}

/** Walks rows in seq order (one page) and finds the first broken link. */
export function verifyChainRows(rows: Iterable<AuditChainRow>, keyring: Keyring | null = null): ChainVerification {
  const walk = new ChainWalk(keyring);
  for (const row of rows) {
    const problem = walk.step(row);
    if (problem) return walkResult(walk, row.seq, problem);
  }
  const problem = walk.finish();
  return walkResult(walk, problem ? (walk.anchor?.seq ?? null) : null, problem);
}

export function walkResult(
  walk: ChainWalk,
  firstBrokenSeq: string | null,
  problem: string | null,
  checkpoint: CheckpointRef | null = null,
): ChainVerification {
  return { ok: problem === null, checked: walk.checked, firstBrokenSeq, problem, macs: walk.macs, anchor: walk.anchor, checkpoint };
}
