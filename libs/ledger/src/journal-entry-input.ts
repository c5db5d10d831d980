import type { Account, EntryType } from './chart-of-accounts';

/** A posting as our API and files carry it (amount as a decimal integer string). */
export interface LedgerPostingInput {
  account: string;
  market_ticker?: string | null;
  amount_centicents: string;
}

/** A journal entry as `POST /ledger/entries` carries it (snake_case, docs/ledger-and-breaks.md). */
export interface LedgerEntryInput {
  external_id: string;
  entry_type: string;
  effective_at: string;
  cycle?: string | null;
  subtrader_id?: string | null;
  /** The asset class the entry books (Klear settles each on its own obligation); absent is Crypto. */
  asset_class?: string | null;
  business_reference?: string | null;
  description?: string | null;
  reverses_external_id?: string | null;
  postings: LedgerPostingInput[];
}

export interface JournalPostingDraft {
  account: Account;
  marketTicker: string | null;
  amount: bigint;
}

/** What an entry says about itself, the same in a draft and in a stored entry. */
export interface JournalEntryFields {
  externalId: string;
  effectiveAt: string;
  cycle: string | null;
  subtraderId: string | null;
  assetClass: string;
  businessReference: string | null;
  description: string | null;
  reversesExternalId: string | null;
}

/** A validated entry, timestamps canonical, empty optional text as null. */
export interface JournalEntryDraft extends JournalEntryFields {
  entryType: EntryType;
  postings: JournalPostingDraft[];
}

/**
 * One thing wrong with an entry. `field` is the entry field or the posting field; `posting` is the
 * posting's 0-based index when the problem is in one posting.
 */
export interface EntryProblem {
  code: LedgerProblemCode;
  field: string;
  posting?: number;
  message: string;
}

export type LedgerProblemCode =
  | 'INVALID_VALUE'
  | 'MISSING_FIELD'
  | 'NOT_ALLOWED'
  | 'FORMULA_INJECTION'
  | 'UNBALANCED_ENTRY'
  | 'DUPLICATE_ENTRY'
  | 'UNKNOWN_ENTRY'
  | 'ALREADY_REVERSED'
  | 'REVERSAL_MISMATCH'
  | 'LEDGER_ENTRY_CONFLICT'
  | 'INCONSISTENT_ROWS'
  | 'INVALID_ROW';
