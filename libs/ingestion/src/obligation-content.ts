import { createHash } from 'node:crypto';
import { type ObligationEntry, stringifyKlearJson } from '@app/klear-contract';

// What an obligation's content is, apart from how it is stored (obligation.repository.ts): its hash, and the lists Klear cut.

const byId = <T extends { id: string }>(rows: readonly T[]): T[] => [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

/**
 * SHA-256 of an obligation's whole content in a canonical form (lists sorted by id), so the same
 * obligation re-read, or served with its lists in another order, hashes the same.
 */
export function obligationContentHash(entry: ObligationEntry, unmapped?: string): string {
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
  for (const r of byId(receives)) hash.update(`\nR${stringifyKlearJson(r)}`);
  for (const d of byId(settlement_details)) hash.update(`\nD${stringifyKlearJson(d)}`);
  for (const m of byId(maintenance_margin_details)) hash.update(`\nM${stringifyKlearJson(m)}`);
  for (const f of byId(funding_payments)) hash.update(`\nF${stringifyKlearJson(f)}`);
  // Fields the contract does not name (unmapped-content.ts); absent, the hash is as before them.
  if (unmapped !== undefined) hash.update(`\nU${unmapped}`);
  return hash.digest('hex');
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
