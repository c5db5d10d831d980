import { describe, expect, it } from '@jest/globals';
import { journalEntryContentHash, isExactNegation } from './journal-entry-content';
import { validateJournalEntry } from './journal-entry-rules';
import { canonicalTimestamp, formulaInjection } from './ledger-text';

const margin = {
  external_id: 'MM-1',
  entry_type: 'margin_requirement',
  effective_at: '2026-11-03T16:00:00-05:00',
  cycle: '2026-11-03T21:00:00Z',
  subtrader_id: 'ST-1',
  postings: [
    { account: 'maintenance_margin', amount_centicents: '400' },
    { account: 'maintenance_margin_contra', amount_centicents: '-400' },
  ],
};

describe('ledger text rules', () => {
  it('canonicalises RFC 3339 times to UTC, keeping microseconds only when present', () => {
    expect(canonicalTimestamp('2026-11-03T16:00:00-05:00')).toBe('2026-11-03T21:00:00.000Z');
    expect(canonicalTimestamp('2026-11-03T21:00:00.123456Z')).toBe('2026-11-03T21:00:00.123456Z');
    expect(canonicalTimestamp('2026-11-03T21:00:00.120000000Z')).toBe('2026-11-03T21:00:00.120Z');
    expect(() => canonicalTimestamp('2026-11-03 21:00:00')).toThrow(/RFC 3339/);
    expect(() => canonicalTimestamp('2026-02-30T21:00:00Z')).toThrow(/not a real date/);
    expect(() => canonicalTimestamp('2026-11-03T21:00:00.1234567Z')).toThrow(/microsecond/);
  });

  it('refuses cells a spreadsheet would run as formulas, allowing "-" only on a plain integer amount', () => {
    expect(formulaInjection('=HYPERLINK("x")')).toMatch(/"="/);
    expect(formulaInjection('+1')).not.toBeNull();
    expect(formulaInjection('@SUM(A1)')).not.toBeNull();
    expect(formulaInjection('\tx')).toMatch(/tab/);
    expect(formulaInjection('-5', true)).toBeNull();
    expect(formulaInjection('-5', false)).not.toBeNull();
    expect(formulaInjection('-5+cmd', true)).not.toBeNull();
    expect(formulaInjection('Deposit')).toBeNull();
  });
});

describe('journal entry rules', () => {
  it('accepts a balanced margin requirement and hashes it independently of posting order and time zone', () => {
    const a = validateJournalEntry(margin);
    const b = validateJournalEntry({ ...margin, effective_at: '2026-11-03T21:00:00Z', postings: [...margin.postings].reverse() });
    expect(a.problems).toEqual([]);
    expect(journalEntryContentHash(a.draft!)).toBe(journalEntryContentHash(b.draft!));
    const c = validateJournalEntry({ ...margin, description: 'other' });
    expect(journalEntryContentHash(c.draft!)).not.toBe(journalEntryContentHash(a.draft!));
  });

  it('reports every problem of an entry, not only the first', () => {
    const result = validateJournalEntry({
      ...margin,
      external_id: '-bad',
      cycle: null,
      postings: [
        { account: 'maintenance_margin', market_ticker: 'BTC-1', amount_centicents: '400' },
        { account: 'maintenance_margin_contra', amount_centicents: '1e3' },
      ],
    });
    expect(result.problems.map((p) => [p.code, p.field, p.posting])).toEqual([
      ['FORMULA_INJECTION', 'external_id', undefined],
      ['MISSING_FIELD', 'cycle', undefined],
      ['NOT_ALLOWED', 'market_ticker', 0],
      ['INVALID_VALUE', 'amount_centicents', 1],
    ]);
  });

  it.each(['trading_pnl', 'funding'])('requires cycle and subtrader on an adjustment to %s', (account) => {
    const result = validateJournalEntry({
      external_id: 'ADJ-1',
      entry_type: 'adjustment',
      effective_at: '2026-11-03T21:00:00Z',
      postings: [
        { account, market_ticker: 'BTC-1', amount_centicents: '5' },
        { account: 'klear_settlement', amount_centicents: '-5' },
      ],
    });
    expect(result.problems.map((p) => p.field)).toEqual(['cycle', 'subtrader_id']);
  });

  it('books funding payments per market on a funding_payment entry of one (cycle, subtrader), balanced on klear_settlement', () => {
    const funding = {
      external_id: 'FUND-1',
      entry_type: 'funding_payment',
      effective_at: '2026-11-03T21:00:00Z',
      cycle: '2026-11-03T21:00:00Z',
      subtrader_id: 'ST-1',
      postings: [
        { account: 'funding', market_ticker: 'BTC-1', amount_centicents: '-120' },
        { account: 'funding', market_ticker: 'ETH-1', amount_centicents: '45' },
        { account: 'klear_settlement', amount_centicents: '75' },
      ],
    };
    expect(validateJournalEntry(funding).problems).toEqual([]);
    const broken = validateJournalEntry({
      ...funding,
      cycle: null,
      postings: [
        { account: 'funding', amount_centicents: '-120' },
        { account: 'funding', market_ticker: 'ETH-1', amount_centicents: '45' },
        { account: 'trading_pnl', market_ticker: 'ETH-1', amount_centicents: '75' },
      ],
    });
    expect(broken.problems.map((p) => [p.code, p.field, p.posting])).toEqual([
      ['MISSING_FIELD', 'cycle', undefined],
      ['MISSING_FIELD', 'market_ticker', 0],
      ['NOT_ALLOWED', 'account', 2],
    ]);
    const twice = validateJournalEntry({
      ...funding,
      postings: [...funding.postings, { account: 'funding', market_ticker: 'BTC-1', amount_centicents: '0' }],
    });
    expect(twice.problems.map((p) => p.message)).toEqual(['a funding payment has one funding posting per market; BTC-1 repeats']);
  });

  it('recognises an exact negation of postings, whatever their order', () => {
    const original = validateJournalEntry(margin).draft!.postings;
    expect(isExactNegation(original.map((p) => ({ ...p, amount: -p.amount })).reverse(), original)).toBe(true);
    expect(isExactNegation(original, original)).toBe(false);
    expect(isExactNegation(original.slice(0, 1), original)).toBe(false);
  });
});
