import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';

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

export function auditRowHash(row: AuditRowContent): string {
  const material = canonicalJson([
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
  return createHash('sha256').update(material).digest('hex');
}

export interface ChainVerification {
  ok: boolean;
  checked: number;
  /** First row whose link or content does not verify. */
  firstBrokenSeq: string | null;
  problem: string | null;
}

/** Walks rows in seq order and finds the first broken link. */
export function verifyChainRows(rows: Iterable<AuditRowContent & { hash: string }>, startPrevHash = GENESIS_HASH, startSeq = 1n): ChainVerification {
  let prev = startPrevHash;
  let expectedSeq = startSeq;
  let checked = 0;
  for (const row of rows) {
    if (BigInt(row.seq) !== expectedSeq) {
      return { ok: false, checked, firstBrokenSeq: row.seq, problem: `expected seq ${expectedSeq}, found ${row.seq} (a row is missing)` };
    }
    if (row.prevHash !== prev) {
      return { ok: false, checked, firstBrokenSeq: row.seq, problem: 'prev_hash does not match the previous row' };
    }
    if (auditRowHash(row) !== row.hash) {
      return { ok: false, checked, firstBrokenSeq: row.seq, problem: 'row content does not match its hash (edited)' };
    }
    prev = row.hash;
    expectedSeq += 1n;
    checked += 1;
  }
  return { ok: true, checked, firstBrokenSeq: null, problem: null };
}
