import { createHash } from 'node:crypto';
import { type ObligationEntry, stringifyKlearJson } from '@app/klear-contract';

// What an obligation's content is, apart from how it is stored (obligation.repository.ts): its hash, and the lists Klear cut.

const byId = <T extends { id: string }>(rows: readonly T[]): T[] => [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

/** The lists of an obligation whose rows carry ids. */
export type ObligationList = 'receives' | 'settlement_details' | 'maintenance_margin_details' | 'funding_payments';

/** What an obligation holds, computed in one pass over its lists. */
export interface ObligationContent {
  /** SHA-256 of the whole content in a canonical form (lists sorted by id). */
  sha256: string;
  /**
   * The lists in which Klear gave some id more than once (the last row of an id is the one stored).
   * Read from the sorted copies the hash walks anyway: a repeated id sits next to itself there, so the
   * lists without one (all of them, normally) are stored as they came, with no map of a million ids.
   */
  repeatedIds: ReadonlySet<ObligationList>;
}

/** sha256.update() is called once per ~64 KiB, not once per row: same bytes, same digest. */
const HASH_CHUNK_CHARS = 65_536;

/**
 * An obligation's content hash, so the same obligation re-read, or served with its lists in another
 * order, hashes the same, and the lists holding a repeated id.
 */
export function obligationContent(entry: ObligationEntry, unmapped?: string): ObligationContent {
  // The *_truncated flags describe the transport, not the content: a completed list hashes alike.
  const {
    receives,
    settlement_details,
    maintenance_margin_details,
    funding_payments,
    settlement_details_truncated: _s,
    maintenance_margin_details_truncated: _m,
    funding_payments_truncated: _f,
    ...info
  } = entry;
  const hash = createHash('sha256').update(stringifyKlearJson(info));
  const repeatedIds = new Set<ObligationList>();
  let chunk = '';
  const hashList = (list: ObligationList, prefix: string, rows: ReadonlyArray<{ id: string }>) => {
    const sorted = byId(rows);
    for (let i = 0; i < sorted.length; i++) {
      if (i > 0 && sorted[i].id === sorted[i - 1].id) repeatedIds.add(list);
      // Every piece starts with a newline: no character is split between two updates.
      chunk += `${prefix}${stringifyKlearJson(sorted[i])}`;
      if (chunk.length >= HASH_CHUNK_CHARS) {
        hash.update(chunk);
        chunk = '';
      }
    }
  };
  hashList('receives', '\nR', receives);
  hashList('settlement_details', '\nD', settlement_details);
  hashList('maintenance_margin_details', '\nM', maintenance_margin_details);
  hashList('funding_payments', '\nF', funding_payments);
  if (chunk) hash.update(chunk);
  // Fields the contract does not name (unmapped-content.ts); absent, the hash is as before them.
  if (unmapped !== undefined) hash.update(`\nU${unmapped}`);
  return { sha256: hash.digest('hex'), repeatedIds };
}

/** An obligation whose inline lists were cut and not completed: never stored, the pull fails saying so. */
export class ObligationIncompleteError extends Error {
  constructor(
    readonly obligationId: string,
    readonly lists: string[],
  ) {
    super(`obligation ${obligationId}: ${lists.join(', ')} truncated at 1,000 rows and not completed from the paged endpoint; not stored`);
  }
}

/** The lists of an entry Klear cut at 1,000 rows (their complete form is on the paged endpoints). */
export function truncatedLists(entry: ObligationEntry): Array<'settlement_details' | 'maintenance_margin_details' | 'funding_payments'> {
  const lists: Array<'settlement_details' | 'maintenance_margin_details' | 'funding_payments'> = [];
  if (entry.settlement_details_truncated) lists.push('settlement_details');
  if (entry.maintenance_margin_details_truncated) lists.push('maintenance_margin_details');
  if (entry.funding_payments_truncated) lists.push('funding_payments');
  return lists;
}
