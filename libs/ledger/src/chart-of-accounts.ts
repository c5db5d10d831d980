/** Entry types and the chart of accounts of docs/ledger-and-breaks.md ("Journal entries"). */
export const ENTRY_TYPES = [
  'trade_settlement',
  'margin_requirement',
  'buffer_movement',
  'funding_payment',
  'adjustment',
  'reversal',
] as const;
export type EntryType = (typeof ENTRY_TYPES)[number];

export const ACCOUNTS = [
  'trading_pnl',
  'trading_fees',
  'klear_settlement',
  'maintenance_margin',
  'maintenance_margin_contra',
  'settlement_buffer',
  'bank',
  'funding',
] as const;
export type Account = (typeof ACCOUNTS)[number];

/**
 * Per-market accounts: their postings carry a market_ticker, and only theirs do. Each counts in a
 * per-(cycle, subtrader, market) figure of reconciliation: trading PnL and fees, and funding.
 */
export const TRADING_ACCOUNTS: readonly Account[] = ['trading_pnl', 'trading_fees', 'funding'];

/** Accounts each entry type may post to; a reversal posts to whatever its original did. */
export const ACCOUNTS_BY_ENTRY_TYPE: Record<Exclude<EntryType, 'reversal'>, readonly Account[]> = {
  trade_settlement: ['trading_pnl', 'trading_fees', 'klear_settlement'],
  margin_requirement: ['maintenance_margin', 'maintenance_margin_contra'],
  buffer_movement: ['settlement_buffer', 'bank', 'klear_settlement'],
  funding_payment: ['funding', 'klear_settlement'],
  adjustment: ['trading_pnl', 'trading_fees', 'funding', 'klear_settlement'],
};

export function isEntryType(value: unknown): value is EntryType {
  return typeof value === 'string' && (ENTRY_TYPES as readonly string[]).includes(value);
}

export function isAccount(value: unknown): value is Account {
  return typeof value === 'string' && (ACCOUNTS as readonly string[]).includes(value);
}

/** Postings per entry: a trade settlement of a subtrader active in 1,000 markets still fits. */
export const MAX_POSTINGS_PER_ENTRY = 5000;
/** Entries per `POST /ledger/entries` batch (one transaction). */
export const MAX_ENTRIES_PER_BATCH = 10_000;
