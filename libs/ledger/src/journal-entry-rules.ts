import { parseCenticents, MoneyParseError } from '@app/money';
import {
  ACCOUNTS,
  ACCOUNTS_BY_ENTRY_TYPE,
  ENTRY_TYPES,
  isAccount,
  isEntryType,
  MAX_POSTINGS_PER_ENTRY,
  TRADING_ACCOUNTS,
  type Account,
} from './chart-of-accounts';
import type { EntryProblem, JournalEntryDraft, JournalPostingDraft, LedgerEntryInput } from './journal-entry-input';
import {
  canonicalTimestamp,
  formulaInjection,
  freeTextProblem,
  LEDGER_ID_PATTERN,
  MAX_DESCRIPTION_LENGTH,
  MAX_REFERENCE_LENGTH,
  SUBTRADER_ID_PATTERN,
} from './ledger-text';

/** Klear's asset class names (`Crypto`, `Equity`): what an entry may name in asset_class. */
const ASSET_CLASS_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
/** The asset class of an entry that names none: the only one before the live API. */
export const DEFAULT_ASSET_CLASS = 'Crypto';

type Result = { draft: JournalEntryDraft; problems: [] } | { draft: null; problems: EntryProblem[] };

/**
 * Checks one entry against the format and the entry-type rules of docs/ledger-and-breaks.md,
 * without the database: every problem is reported, not only the first. Checks that need the
 * ledger (idempotency, reversal targets) happen in the posting transaction.
 */
export function validateJournalEntry(input: LedgerEntryInput): Result {
  const problems: EntryProblem[] = [];
  const add = (code: EntryProblem['code'], field: string, message: string, posting?: number) =>
    problems.push(posting === undefined ? { code, field, message } : { code, field, message, posting });

  const text = (field: keyof LedgerEntryInput, pattern: RegExp | null, maxLength: number, required: boolean): string | null => {
    const value = input[field];
    if (value === undefined || value === null || value === '') {
      if (required) add('MISSING_FIELD', field, 'is required');
      return null;
    }
    if (typeof value !== 'string') {
      add('INVALID_VALUE', field, 'must be a string');
      return null;
    }
    const injection = formulaInjection(value);
    if (injection) {
      add('FORMULA_INJECTION', field, injection);
      return null;
    }
    if (pattern && !pattern.test(value)) {
      add(
        'INVALID_VALUE',
        field,
        `must be 1-128 characters (letters, digits, . _ : / -${field === 'subtrader_id' ? ' @' : ''}) starting with a letter or digit`,
      );
      return null;
    }
    const problem = pattern ? null : freeTextProblem(value, maxLength);
    if (problem) {
      add('INVALID_VALUE', field, problem);
      return null;
    }
    return value;
  };
  const timestamp = (field: 'effective_at' | 'cycle', required: boolean): string | null => {
    const value = text(field, null, 64, required);
    if (value === null) return null;
    try {
      return canonicalTimestamp(value);
    } catch (error) {
      add('INVALID_VALUE', field, (error as Error).message);
      return null;
    }
  };

  const externalId = text('external_id', LEDGER_ID_PATTERN, 128, true);
  const entryTypeText = input.entry_type;
  const entryType = isEntryType(entryTypeText) ? entryTypeText : null;
  if (entryType === null) {
    if (entryTypeText === undefined || entryTypeText === null || entryTypeText === '') add('MISSING_FIELD', 'entry_type', 'is required');
    else add('INVALID_VALUE', 'entry_type', `must be one of ${ENTRY_TYPES.join(', ')}`);
  }
  const effectiveAt = timestamp('effective_at', true);
  const perSubtraderCycle = entryType === 'trade_settlement' || entryType === 'margin_requirement' || entryType === 'funding_payment';
  const cycle = timestamp('cycle', perSubtraderCycle);
  const subtraderId = text('subtrader_id', SUBTRADER_ID_PATTERN, 128, perSubtraderCycle);
  const assetClassText = text('asset_class', null, 64, false);
  if (assetClassText !== null && !ASSET_CLASS_PATTERN.test(assetClassText))
    add(
      'INVALID_VALUE',
      'asset_class',
      'must be an asset class name such as Crypto or Equity (a letter, then letters, digits or _; at most 64)',
    );
  const assetClass = assetClassText ?? DEFAULT_ASSET_CLASS;
  const businessReference = text('business_reference', null, MAX_REFERENCE_LENGTH, false);
  const description = text('description', null, MAX_DESCRIPTION_LENGTH, false);
  const reversesExternalId = text('reverses_external_id', LEDGER_ID_PATTERN, 128, entryType === 'reversal');
  if (entryType !== null && entryType !== 'reversal' && reversesExternalId !== null) {
    add('NOT_ALLOWED', 'reverses_external_id', 'only a reversal entry names the entry it reverses');
  }
  if (reversesExternalId !== null && reversesExternalId === externalId) {
    add('NOT_ALLOWED', 'reverses_external_id', 'an entry cannot reverse itself');
  }

  const postings = validatePostings(input, entryType, add);
  if (
    entryType === 'adjustment' &&
    postings.some((p) => TRADING_ACCOUNTS.includes(p.account)) &&
    (cycle === null || subtraderId === null)
  ) {
    for (const field of ['cycle', 'subtrader_id'] as const) {
      if ((field === 'cycle' ? cycle : subtraderId) === null && !problems.some((p) => p.field === field)) {
        add('MISSING_FIELD', field, 'is required for an adjustment that posts to trading_pnl, trading_fees or funding');
      }
    }
  }

  if (problems.length > 0 || externalId === null || entryType === null || effectiveAt === null) return { draft: null, problems };
  return {
    draft: {
      externalId,
      entryType,
      effectiveAt,
      cycle,
      subtraderId,
      assetClass,
      businessReference,
      description,
      reversesExternalId,
      postings,
    },
    problems: [],
  };
}

function validatePostings(
  input: LedgerEntryInput,
  entryType: JournalEntryDraft['entryType'] | null,
  add: (code: EntryProblem['code'], field: string, message: string, posting?: number) => void,
): JournalPostingDraft[] {
  if (!Array.isArray(input.postings) || input.postings.length === 0) {
    add('MISSING_FIELD', 'postings', 'an entry needs at least two postings (double entry)');
    return [];
  }
  if (input.postings.length > MAX_POSTINGS_PER_ENTRY) {
    add('NOT_ALLOWED', 'postings', `at most ${MAX_POSTINGS_PER_ENTRY} postings per entry`);
    return [];
  }
  const allowed: readonly Account[] | null = entryType === null || entryType === 'reversal' ? null : ACCOUNTS_BY_ENTRY_TYPE[entryType];
  const out: JournalPostingDraft[] = [];
  let valid = true;
  input.postings.forEach((posting, i) => {
    let ok = true;
    const account = posting?.account;
    if (!isAccount(account)) {
      add(account ? 'INVALID_VALUE' : 'MISSING_FIELD', 'account', account ? `must be one of ${ACCOUNTS.join(', ')}` : 'is required', i);
      ok = false;
    } else if (allowed && !allowed.includes(account)) {
      add('NOT_ALLOWED', 'account', `a ${entryType} entry posts only to ${allowed.join(', ')}`, i);
      ok = false;
    }
    const ticker = posting?.market_ticker ?? null;
    const trading = isAccount(account) && TRADING_ACCOUNTS.includes(account);
    if (ticker === null || ticker === '') {
      if (trading) {
        add('MISSING_FIELD', 'market_ticker', `is required on ${account} postings`, i);
        ok = false;
      }
    } else if (typeof ticker !== 'string') {
      add('INVALID_VALUE', 'market_ticker', 'must be a string', i);
      ok = false;
    } else if (formulaInjection(ticker)) {
      add('FORMULA_INJECTION', 'market_ticker', formulaInjection(ticker) as string, i);
      ok = false;
    } else if (!LEDGER_ID_PATTERN.test(ticker)) {
      add('INVALID_VALUE', 'market_ticker', 'must be 1-128 characters (letters, digits, . _ : / -) starting with a letter or digit', i);
      ok = false;
    } else if (isAccount(account) && !trading) {
      add('NOT_ALLOWED', 'market_ticker', `only trading_pnl, trading_fees and funding postings carry a market_ticker, not ${account}`, i);
      ok = false;
    }
    let amount: bigint | null = null;
    try {
      amount = parseCenticents(posting?.amount_centicents);
    } catch (error) {
      if (!(error instanceof MoneyParseError)) throw error;
      add(posting?.amount_centicents === undefined ? 'MISSING_FIELD' : 'INVALID_VALUE', 'amount_centicents', error.message, i);
      ok = false;
    }
    if (ok && amount !== null) out.push({ account: account as Account, marketTicker: ticker || null, amount });
    else valid = false;
  });
  if (!valid) return [];
  if (out.length < 2) add('UNBALANCED_ENTRY', 'postings', 'an entry needs at least two postings (double entry)');
  const total = out.reduce((sum, p) => sum + p.amount, 0n);
  if (total !== 0n) add('UNBALANCED_ENTRY', 'postings', `postings must sum to zero, they sum to ${total} centicents`);
  shapeRules(entryType, out, add);
  return out;
}

/** Structure the reconciliation relies on: one figure per market, one balancing leg. */
function shapeRules(
  entryType: JournalEntryDraft['entryType'] | null,
  postings: JournalPostingDraft[],
  add: (code: EntryProblem['code'], field: string, message: string, posting?: number) => void,
): void {
  const count = (account: Account) => postings.filter((p) => p.account === account).length;
  if (entryType === 'trade_settlement' || entryType === 'funding_payment') {
    const what = entryType === 'trade_settlement' ? 'trade settlement' : 'funding payment';
    const seen = new Set<string>();
    postings.forEach((p, i) => {
      if (!TRADING_ACCOUNTS.includes(p.account)) return;
      const key = `${p.account}/${p.marketTicker}`;
      if (seen.has(key))
        add('NOT_ALLOWED', 'market_ticker', `a ${what} has one ${p.account} posting per market; ${p.marketTicker} repeats`, i);
      seen.add(key);
    });
    if (count('klear_settlement') !== 1)
      add('NOT_ALLOWED', 'postings', `a ${what} has exactly one klear_settlement posting (the balancing leg)`);
  }
  if (entryType === 'margin_requirement' && (count('maintenance_margin') !== 1 || count('maintenance_margin_contra') !== 1)) {
    add('NOT_ALLOWED', 'postings', 'a margin requirement has exactly one maintenance_margin and one maintenance_margin_contra posting');
  }
  if (entryType === 'buffer_movement' && count('settlement_buffer') === 0) {
    add('NOT_ALLOWED', 'postings', 'a buffer movement has at least one settlement_buffer posting');
  }
}
