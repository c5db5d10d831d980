import type { EntryProblem, JournalEntryDraft, JournalPostingDraft } from './journal-entry-input';
import { isExactNegation, journalEntryContentHash } from './journal-entry-content';

/** What the ledger already holds about an external_id the batch names (loaded under the ledger lock). */
export interface ExistingJournalEntry {
  ledgerSeq: string;
  externalId: string;
  entryType: string;
  cycle: string | null;
  subtraderId: string | null;
  assetClass: string;
  contentHash: string;
  reversedBy: string | null;
  /** Loaded for entries the batch reverses. */
  postings: JournalPostingDraft[] | null;
}

export interface PlannedEntry {
  position: number;
  draft: JournalEntryDraft;
  contentHash: string;
}

export interface EntryOutcome {
  position: number;
  externalId: string;
  status: 'created' | 'unchanged';
  /** Known now for unchanged entries already in the ledger; filled after the insert otherwise. */
  ledgerSeq: string | null;
}

export interface BatchPlan {
  toCreate: PlannedEntry[];
  outcomes: EntryOutcome[];
  problems: Array<{ position: number; problem: EntryProblem }>;
}

interface BatchTarget {
  entryType: string;
  cycle: string | null;
  subtraderId: string | null;
  assetClass: string;
  postings: JournalPostingDraft[];
}

/**
 * Decides, in batch order, what each valid draft becomes: created, unchanged (same content already
 * booked), or a problem (conflict, duplicate, bad reversal). A draft with a problem is left out,
 * so an entry reversing it fails too; callers that want all-or-nothing refuse any problem.
 */
export function planJournalBatch(
  items: Array<{ position: number; draft: JournalEntryDraft }>,
  existing: Map<string, ExistingJournalEntry>,
): BatchPlan {
  const plan: BatchPlan = { toCreate: [], outcomes: [], problems: [] };
  const accepted = new Map<string, { hash: string; position: number; target: BatchTarget; ledgerSeq: string | null }>();
  const reversedInBatch = new Map<string, string>();

  for (const { position, draft: submitted } of items) {
    const fail = (code: EntryProblem['code'], field: string, message: string) =>
      plan.problems.push({ position, problem: { code, field, message } });
    let draft = submitted;
    let target: BatchTarget | null = null;
    if (draft.entryType === 'reversal' && draft.reversesExternalId) {
      const stored = existing.get(draft.reversesExternalId);
      const inBatch = accepted.get(draft.reversesExternalId);
      target = inBatch?.target ?? (stored?.postings ? { ...stored, postings: stored.postings } : null);
      if (!target) {
        fail('UNKNOWN_ENTRY', 'reverses_external_id', `no entry ${draft.reversesExternalId} in the ledger or earlier in this batch`);
        continue;
      }
      // A reversal belongs to its original's cycle, subtrader and asset class, so it counts in the same figures.
      const mismatch = (['cycle', 'subtraderId'] as const).find((k) => draft[k] !== null && draft[k] !== target![k]);
      if (mismatch) {
        const field = mismatch === 'cycle' ? 'cycle' : 'subtrader_id';
        fail('REVERSAL_MISMATCH', field, `must be empty or equal to the reversed entry's ${field} (${target[mismatch] ?? 'none'})`);
        continue;
      }
      if (draft.assetClass !== 'Crypto' && draft.assetClass !== target.assetClass) {
        fail('REVERSAL_MISMATCH', 'asset_class', `must be empty or equal to the reversed entry's asset_class (${target.assetClass})`);
        continue;
      }
      draft = { ...draft, cycle: target.cycle, subtraderId: target.subtraderId, assetClass: target.assetClass };
    }
    const hash = journalEntryContentHash(draft);
    const earlier = accepted.get(draft.externalId);
    if (earlier) {
      if (earlier.hash === hash)
        plan.outcomes.push({ position, externalId: draft.externalId, status: 'unchanged', ledgerSeq: earlier.ledgerSeq });
      else fail('DUPLICATE_ENTRY', 'external_id', `${draft.externalId} appears earlier in this batch with different content`);
      continue;
    }
    const stored = existing.get(draft.externalId);
    if (stored) {
      if (stored.contentHash === hash) {
        plan.outcomes.push({ position, externalId: draft.externalId, status: 'unchanged', ledgerSeq: stored.ledgerSeq });
        accepted.set(draft.externalId, {
          hash,
          position,
          target: { ...stored, postings: stored.postings ?? [] },
          ledgerSeq: stored.ledgerSeq,
        });
      } else {
        fail('LEDGER_ENTRY_CONFLICT', 'external_id', `${draft.externalId} is already booked with different content`);
      }
      continue;
    }
    if (target && draft.reversesExternalId) {
      const reversedBy = existing.get(draft.reversesExternalId)?.reversedBy ?? reversedInBatch.get(draft.reversesExternalId);
      if (target.entryType === 'reversal') {
        fail(
          'NOT_ALLOWED',
          'reverses_external_id',
          `${draft.reversesExternalId} is itself a reversal; book a new entry instead of reversing it`,
        );
        continue;
      }
      if (reversedBy) {
        fail('ALREADY_REVERSED', 'reverses_external_id', `${draft.reversesExternalId} is already reversed by ${reversedBy}`);
        continue;
      }
      if (!isExactNegation(draft.postings, target.postings)) {
        fail('REVERSAL_MISMATCH', 'postings', `must be the exact negation of ${draft.reversesExternalId}'s postings`);
        continue;
      }
      reversedInBatch.set(draft.reversesExternalId, draft.externalId);
    }
    accepted.set(draft.externalId, {
      hash,
      position,
      target: {
        entryType: draft.entryType,
        cycle: draft.cycle,
        subtraderId: draft.subtraderId,
        assetClass: draft.assetClass,
        postings: draft.postings,
      },
      ledgerSeq: null,
    });
    plan.toCreate.push({ position, draft, contentHash: hash });
    plan.outcomes.push({ position, externalId: draft.externalId, status: 'created', ledgerSeq: null });
  }
  return plan;
}

/** First and last ledger_seq of what a write created (for its audit row). */
export function seqRange(seqs: Map<string, string>): { first_ledger_seq?: string; last_ledger_seq?: string } {
  if (seqs.size === 0) return {};
  const all = [...seqs.values()].map(BigInt).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { first_ledger_seq: all[0].toString(), last_ledger_seq: all[all.length - 1].toString() };
}
