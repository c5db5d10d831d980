import { formatTimestamp } from './clock';
import { balanceEvents } from './buffer';
import { etDayEndExclusive } from './schedule';
import type { SimulatorState } from './state';
import { assetClassCode, DEFAULT_ASSET_CLASS } from './world';

export interface Posting {
  account: string;
  market_ticker?: string;
  amount_centicents: bigint;
}

/** A journal entry in the format of docs/ledger-and-breaks.md. */
export interface JournalEntry {
  external_id: string;
  entry_type: 'trade_settlement' | 'margin_requirement' | 'buffer_movement' | 'funding_payment' | 'adjustment' | 'reversal';
  effective_at: string;
  cycle?: string;
  subtrader_id?: string;
  /** The asset class the entry books; absent for the default class (Crypto), as the product reads it. */
  asset_class?: string;
  business_reference?: string;
  description: string;
  reverses_external_id?: string;
  postings: Posting[];
}

/** Recomputes the balancing `klear_settlement` leg so the entry sums to zero again. */
export function rebalanceTradeEntry(entry: JournalEntry): void {
  entry.postings = entry.postings.filter((posting) => posting.account !== 'klear_settlement');
  const sum = entry.postings.reduce((total, posting) => total + posting.amount_centicents, 0n);
  entry.postings.push({ account: 'klear_settlement', amount_centicents: -sum });
}

/** The trading desk's settlement of one subtrader's cycle, balanced on `klear_settlement`. */
export function tradeSettlementEntry(cycleText: string, subtraderId: string, postings: Posting[]): JournalEntry {
  const trade: JournalEntry = {
    external_id: `trade/${cycleText}/${subtraderId}`,
    entry_type: 'trade_settlement',
    effective_at: cycleText,
    cycle: cycleText,
    subtrader_id: subtraderId,
    description: 'trading desk settlement',
    postings,
  };
  rebalanceTradeEntry(trade);
  return trade;
}

/** The funding payments of one subtrader's cycle, per market (Klear's sign), balanced on `klear_settlement`. */
export function fundingPaymentEntry(cycleText: string, subtraderId: string, postings: Posting[]): JournalEntry {
  const balanced = tradeSettlementEntry(cycleText, subtraderId, postings);
  return {
    ...balanced,
    external_id: `funding/${cycleText}/${subtraderId}`,
    entry_type: 'funding_payment',
    description: 'funding payments',
  };
}

/**
 * The requirement the books hold per subtrader after a cycle in one asset class. A netted group's
 * margin (Klear's one row per group and class) is booked on its members: split evenly, the
 * remainder on the first, so the members add up to the group's margin.
 */
export function bookedMargins(state: SimulatorState, cycle: number, classIndex: number): bigint[] {
  const { world } = state;
  const margins = Array.from({ length: world.subtraderCount }, () => 0n);
  {
    for (const row of world.marginRows(cycle, classIndex)) {
      if (row.group < 0) {
        margins[row.subtrader] += row.margin;
        continue;
      }
      const members = world.groupMembers[row.group];
      const share = row.margin / BigInt(members.length);
      members.forEach((s, i) => (margins[s] += share + (i === 0 ? row.margin - share * BigInt(members.length) : 0n)));
    }
  }
  return margins;
}

/**
 * The books are kept per asset class, as Klear settles them: Crypto's (the default class) entries
 * keep their ids and name no class; another class's ids end with its code (`trade/{cycle}/{subtrader}/equ`).
 */
export function inAssetClass(state: SimulatorState, classIndex: number, entry: JournalEntry): JournalEntry {
  const assetClass = state.world.assetClasses[classIndex];
  if (assetClass === DEFAULT_ASSET_CLASS) return entry;
  return { ...entry, external_id: `${entry.external_id}/${assetClassCode(assetClass).toLowerCase()}`, asset_class: assetClass };
}

/** The asset class of an entry as the product reads it (absent: Crypto). */
export function entryAssetClass(entry: JournalEntry): string {
  return entry.asset_class ?? DEFAULT_ASSET_CLASS;
}

/** Klear's funding of a (subtrader, market) over a cycle's funding times; undefined when it lists none (flat position). */
export function cellFunding(state: SimulatorState, s: number, m: number, cycle: number, previousPrices: Int32Array): bigint | undefined {
  const { world } = state;
  if (world.fundingPerCycle === 0 || world.position(s, m, cycle - 1) === 0) return undefined;
  let amount = 0;
  for (let k = 0; k < world.fundingPerCycle; k++) amount += world.fundingCell(s, m, cycle, k, previousPrices).amount;
  return BigInt(amount);
}

/** Fee corrections and Klear's published inconsistencies of a cycle over every asset class's obligation, per cell. */
export function cycleCellChanges(
  state: SimulatorState,
  cycle: number,
  now: number,
): { feeAdjustments: Map<number, bigint>; detailTotalErrors: Map<number, bigint> } {
  const feeAdjustments = new Map<number, bigint>();
  const detailTotalErrors = new Map<number, bigint>();
  for (const view of state.obligations(cycle, now)) {
    for (const [key, value] of view.feeAdjustments) feeAdjustments.set(key, (feeAdjustments.get(key) ?? 0n) + value);
    for (const [key, value] of view.detailTotalErrors) detailTotalErrors.set(key, (detailTotalErrors.get(key) ?? 0n) + value);
  }
  return { feeAdjustments, detailTotalErrors };
}

/** One subtrader's maintenance margin requirement after a cycle. */
export function marginRequirementEntry(cycleText: string, subtraderId: string, margin: bigint): JournalEntry {
  return {
    external_id: `margin/${cycleText}/${subtraderId}`,
    entry_type: 'margin_requirement',
    effective_at: cycleText,
    cycle: cycleText,
    subtrader_id: subtraderId,
    description: 'maintenance margin requirement',
    postings: [
      { account: 'maintenance_margin', amount_centicents: margin },
      { account: 'maintenance_margin_contra', amount_centicents: -margin },
    ],
  };
}

/** What the SCM's books hold for one cycle when they agree with Klear at `now`. */
export function cycleEntries(state: SimulatorState, cycle: number, now: number): JournalEntry[] {
  const { world } = state;
  const cycleText = formatTimestamp(state.schedule.timeOf(cycle));
  const { feeAdjustments } = cycleCellChanges(state, cycle, now);
  const prices = world.prices(cycle);
  const previousPrices = world.prices(cycle - 1);
  const entries: JournalEntry[] = [];
  world.assetClasses.forEach((_, classIndex) => {
    const margins = bookedMargins(state, cycle, classIndex);
    const classed = (entry: JournalEntry) => entries.push(inAssetClass(state, classIndex, entry));
    for (let s = 0; s < world.subtraderCount; s++) {
      const subtraderId = world.subtraderIds[s];
      const postings: Posting[] = [];
      const funding: Posting[] = [];
      for (const m of world.marketsOfClass[classIndex]) {
        const cell = world.cell(s, m, cycle, prices, previousPrices);
        const fee = BigInt(cell.fee) + (feeAdjustments.get(s * world.marketCount + m) ?? 0n);
        postings.push({ account: 'trading_pnl', market_ticker: world.tickers[m], amount_centicents: BigInt(cell.pnl) });
        postings.push({ account: 'trading_fees', market_ticker: world.tickers[m], amount_centicents: -fee });
        const paid = cellFunding(state, s, m, cycle, previousPrices);
        if (paid !== undefined) funding.push({ account: 'funding', market_ticker: world.tickers[m], amount_centicents: paid });
      }
      classed(tradeSettlementEntry(cycleText, subtraderId, postings));
      classed(marginRequirementEntry(cycleText, subtraderId, margins[s]));
      if (funding.length > 0) classed(fundingPaymentEntry(cycleText, subtraderId, funding));
    }
  });
  return entries;
}

/**
 * Treasury's buffer movements up to `untilMs` (exclusive): one entry per Klear movement, referenced
 * by Klear's business transaction id. A processed withdrawal's lock release moves no cash and has
 * no entry; a failed withdrawal's return does.
 */
export function bufferEntries(state: SimulatorState, untilMs: number, now: number): JournalEntry[] {
  const entries: JournalEntry[] = [];
  for (const event of balanceEvents(state, now)) {
    if (event.atMs >= untilMs || event.balanceDelta === 0n) continue;
    const counterAccount = event.reason.startsWith('withdrawal') || event.reason === 'deposit' ? 'bank' : 'klear_settlement';
    const suffix = event.reason === 'withdrawal_failed' ? '/returned' : '';
    entries.push({
      external_id: `buffer/${event.businessTransactionId}${suffix}`,
      entry_type: 'buffer_movement',
      effective_at: formatTimestamp(event.atMs),
      business_reference: event.businessTransactionId,
      description: event.reason.replaceAll('_', ' '),
      postings: [
        { account: 'settlement_buffer', amount_centicents: event.balanceDelta },
        { account: counterAccount, amount_centicents: -event.balanceDelta },
      ],
    });
  }
  return entries;
}

/** Exclusive end of the ET day of a cycle: buffer movements are matched per ET day. */
export function cycleDayEnd(state: SimulatorState, cycle: number): number {
  return etDayEndExclusive(state.schedule.timeOf(cycle));
}

const CSV_COLUMNS = [
  'external_id',
  'entry_type',
  'effective_at',
  'cycle',
  'subtrader_id',
  'business_reference',
  'description',
  'reverses_external_id',
  'account',
  'market_ticker',
  'amount_centicents',
] as const;

function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** One CSV row per posting, header first (the ledger import format); an asset_class column when an entry names one. */
export function entriesToCsv(entries: JournalEntry[]): string {
  const columns = entries.some((entry) => entry.asset_class !== undefined) ? [...CSV_COLUMNS, 'asset_class' as const] : CSV_COLUMNS;
  const lines: string[] = [columns.join(',')];
  for (const entry of entries) {
    for (const posting of entry.postings) {
      const row: Record<(typeof columns)[number], string> = {
        external_id: entry.external_id,
        entry_type: entry.entry_type,
        effective_at: entry.effective_at,
        cycle: entry.cycle ?? '',
        subtrader_id: entry.subtrader_id ?? '',
        business_reference: entry.business_reference ?? '',
        description: entry.description,
        reverses_external_id: entry.reverses_external_id ?? '',
        account: posting.account,
        market_ticker: posting.market_ticker ?? '',
        amount_centicents: posting.amount_centicents.toString(),
        asset_class: entry.asset_class ?? '',
      };
      lines.push(columns.map((column) => csvCell(row[column])).join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}

/** JSON form of an entry: amounts as decimal strings, as the ledger import expects. */
export function entryToJson(entry: JournalEntry): Record<string, unknown> {
  return {
    ...entry,
    postings: entry.postings.map((posting) => ({ ...posting, amount_centicents: posting.amount_centicents.toString() })),
  };
}
