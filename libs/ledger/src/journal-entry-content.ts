import { createHash } from 'node:crypto';
import { canonicalJson } from '@app/audit';
import type { JournalEntryDraft, JournalPostingDraft } from './journal-entry-input';

function postingKey(p: JournalPostingDraft): string {
  return `${p.account}\u0000${p.marketTicker ?? ''}\u0000${p.amount}`;
}

/**
 * SHA-256 over the entry's canonical content: every field, timestamps canonical, postings in a
 * fixed order (their order in a request or a file carries no meaning). Equal hash = same entry,
 * so re-posting it is a no-op; same external_id with another hash is a conflict.
 */
export function journalEntryContentHash(d: JournalEntryDraft): string {
  const postings = d.postings
    .map((p) => ({
      key: postingKey(p),
      posting: { account: p.account, market_ticker: p.marketTicker, amount_centicents: p.amount.toString() },
    }))
    .sort((a, b) => compare(a.key, b.key))
    .map((p) => p.posting);
  const content = {
    external_id: d.externalId,
    entry_type: d.entryType,
    effective_at: d.effectiveAt,
    cycle: d.cycle,
    subtrader_id: d.subtraderId,
    // Only when not the default: entries booked before the asset class existed keep their hash.
    ...(d.assetClass !== 'Crypto' ? { asset_class: d.assetClass } : {}),
    business_reference: d.businessReference,
    description: d.description,
    reverses_external_id: d.reversesExternalId,
    postings,
  };
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True when `reversal` books exactly the negation of `original`: same accounts and markets, every amount negated. */
export function isExactNegation(reversal: JournalPostingDraft[], original: JournalPostingDraft[]): boolean {
  if (reversal.length !== original.length) return false;
  const a = reversal.map(postingKey).sort(compare);
  const b = original.map((p) => postingKey({ ...p, amount: -p.amount })).sort(compare);
  return a.every((key, i) => key === b[i]);
}
