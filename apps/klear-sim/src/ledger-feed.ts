import { z } from 'zod';
import type { ExpectedBreak } from './answer-key';
import { expectedBreaksForCycle } from './answer-key';
import { formatTimestamp } from './clock';
import { BadRequest } from './http-io';
import type { JournalEntry } from './ledger-entries';
import {
  bufferEntries,
  cycleDayEnd,
  cycleEntries,
  inAssetClass,
  marginRequirementEntry,
  rebalanceTradeEntry,
  tradeSettlementEntry,
} from './ledger-entries';
import type { SimulatorState } from './state';

/**
 * The feed's first kinds (settlement details, margin, an unknown subtrader, a duplicate, a missing
 * buffer movement): the ones a feed asked for "every kind" of is built with; the buffer timing, key
 * and funding kinds after them have cases of their own.
 */
export const FIRST_DISCREPANCY_KINDS = [
  'missing_fee',
  'pnl_off_by_one',
  'unknown_subtrader',
  'duplicated_entry',
  'missing_buffer_movement',
  'wrong_margin',
  'missing_market_row',
  'extra_market_row',
] as const;

export const DISCREPANCY_KINDS = [
  ...FIRST_DISCREPANCY_KINDS,
  'late_buffer_booking',
  'split_buffer_booking',
  'reversed_buffer_movement',
  'slashed_ids',
  'missing_funding',
  'wrong_funding',
] as const;
export type DiscrepancyKind = (typeof DISCREPANCY_KINDS)[number];

/** Extra requirement booked by `wrong_margin`: one USD. */
const WRONG_MARGIN_EXCESS = 10_000n;
/** How much later than Klear `late_buffer_booking` books the payment: past midnight ET for a 17:00 cycle. */
const LATE_BOOKING_MS = 7 * 3_600_000;
/** Largest feed the simulator builds in memory (settlement-detail rows). */
const MAX_FEED_ROWS = 2_000_000;

export const ledgerFeedRequestSchema = z.object({
  /** Execution times (inclusive) of the first and last cycle; default: every settled cycle. */
  from: z.string().optional(),
  to: z.string().optional(),
  discrepancies: z
    .array(
      z.object({
        kind: z.enum(DISCREPANCY_KINDS),
        cycle: z.string().optional(),
        subtrader_id: z.string().optional(),
        market_ticker: z.string().optional(),
        /** The asset class whose entries it changes (default: the market's, else the world's first). */
        asset_class: z.string().optional(),
      }),
    )
    .default([]),
  format: z.enum(['json', 'csv']).default('json'),
  /** The product's RECON_BUFFER_MATCH_WINDOW_HOURS the answer key assumes (default 24, as the product's). */
  buffer_match_window_hours: z
    .number()
    .int()
    .min(0)
    .max(24 * 31)
    .default(24),
});
export type LedgerFeedRequest = z.infer<typeof ledgerFeedRequestSchema>;

export interface AppliedDiscrepancy {
  kind: DiscrepancyKind;
  cycle: string;
  subtrader_id?: string;
  market_ticker?: string;
  asset_class?: string;
  business_reference?: string;
  external_id?: string;
}

export interface LedgerFeed {
  as_of: string;
  cycles: string[];
  entries: JournalEntry[];
  discrepancies: AppliedDiscrepancy[];
  breaks: ExpectedBreak[];
}

function cycleAt(state: SimulatorState, text: string | undefined, fallback: number, last: number): number {
  if (text === undefined) return fallback;
  const ms = Date.parse(text);
  const cycle = Number.isNaN(ms) ? -1 : state.schedule.lastIndexAtOrBefore(ms);
  if (cycle < 0 || cycle > last || state.schedule.timeOf(cycle) !== ms) {
    throw new BadRequest('invalid_parameter', `${text} is not the execution time of a settled cycle`);
  }
  return cycle;
}

/**
 * The internal ledger for a range of cycles as of `now`, with discrepancies injected, and the breaks
 * a correct reconciliation of each cycle must report (see README, "Ledger feed and answer key").
 */
export function buildLedgerFeed(state: SimulatorState, request: LedgerFeedRequest, now: number): LedgerFeed {
  const { world } = state;
  const last = state.lastSettledCycle(now);
  if (last < 0) throw new BadRequest('invalid_parameter', 'no settled cycle yet');
  const from = cycleAt(state, request.from, 0, last);
  const to = cycleAt(state, request.to, last, last);
  if (from > to) throw new BadRequest('invalid_parameter', 'from must not be after to');
  if ((to - from + 1) * world.subtraderCount * world.marketCount > MAX_FEED_ROWS) {
    throw new BadRequest('invalid_parameter', `a feed is limited to ${MAX_FEED_ROWS} settlement rows: narrow the range`);
  }
  const cycles = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const entries: JournalEntry[] = cycles.flatMap((cycle) => cycleEntries(state, cycle, now));
  entries.push(...bufferEntries(state, Math.min(cycleDayEnd(state, to), now + 1), now));

  const discrepancies = request.discrepancies.map((wanted, index) => {
    const cycle = wanted.cycle === undefined ? cycles[cycles.length - 1 - (index % cycles.length)] : cycleAt(state, wanted.cycle, 0, last);
    if (cycle < from || cycle > to) throw new BadRequest('invalid_parameter', `discrepancy ${index} is outside the feed's cycles`);
    const subtraderId =
      wanted.subtrader_id ??
      (wanted.kind === 'unknown_subtrader'
        ? `ST-UNKNOWN-${String(index + 1).padStart(3, '0')}`
        : world.subtraderIds[index % world.subtraderCount]);
    return injectDiscrepancy(state, entries, { ...wanted, cycle, subtraderId, index }, now);
  });

  return {
    as_of: formatTimestamp(now),
    cycles: cycles.map((cycle) => formatTimestamp(state.schedule.timeOf(cycle))),
    entries,
    discrepancies,
    breaks: cycles.flatMap((cycle) =>
      expectedBreaksForCycle(state, cycle, entries, now, { bufferMatchWindowMs: request.buffer_match_window_hours * 3_600_000 }),
    ),
  };
}

interface Target {
  kind: DiscrepancyKind;
  cycle: number;
  subtraderId: string;
  market_ticker?: string;
  asset_class?: string;
  index: number;
}

function injectDiscrepancy(state: SimulatorState, entries: JournalEntry[], target: Target, now: number): AppliedDiscrepancy {
  const { world } = state;
  const cycleText = formatTimestamp(state.schedule.timeOf(target.cycle));
  const applied: AppliedDiscrepancy = { kind: target.kind, cycle: cycleText, subtrader_id: target.subtraderId };
  // The asset class whose entries change: the market's, the one asked for, else the first (in order) where the kind applies.
  const market = target.market_ticker === undefined ? -1 : world.tickers.indexOf(target.market_ticker);
  const asked = market >= 0 ? world.assetClassOfMarket[market] : target.asset_class;
  if (asked !== undefined && !world.assetClasses.includes(asked))
    throw new BadRequest('invalid_parameter', `no asset class ${asked} in this world`);
  const candidates = asked === undefined ? world.assetClasses.map((_, i) => i) : [world.assetClasses.indexOf(asked)];
  const entryOf = (prefix: string, classIndex: number) => {
    const id = inAssetClass(state, classIndex, { external_id: `${prefix}/${cycleText}/${target.subtraderId}` } as JournalEntry).external_id;
    return entries.find((candidate) => candidate.external_id === id);
  };
  const inClass = (classIndex: number) => {
    if (world.assetClasses.length > 1) applied.asset_class = world.assetClasses[classIndex];
  };
  const find = (prefix: string, applies: (entry: JournalEntry) => boolean = () => true) => {
    for (const classIndex of candidates) {
      const entry = entryOf(prefix, classIndex);
      if (entry !== undefined && applies(entry)) {
        inClass(classIndex);
        return entry;
      }
    }
    throw new BadRequest(
      'invalid_parameter',
      `no ${prefix} entry for ${target.subtraderId} in ${cycleText} that this discrepancy applies to`,
    );
  };
  const defaultTicker = world.tickers[target.index % world.marketCount];
  switch (target.kind) {
    case 'missing_fee': {
      const feeOf = (entry: JournalEntry) =>
        entry.postings.find(
          (p) =>
            p.account === 'trading_fees' && p.amount_centicents !== 0n && (target.market_ticker ?? p.market_ticker) === p.market_ticker,
        );
      const trade = find('trade', (entry) => feeOf(entry) !== undefined);
      const fee = feeOf(trade)!;
      trade.postings = trade.postings.filter((p) => p !== fee);
      rebalanceTradeEntry(trade);
      applied.market_ticker = fee.market_ticker;
      break;
    }
    case 'pnl_off_by_one':
    case 'missing_market_row': {
      const ticker = target.market_ticker ?? defaultTicker;
      const trade = find('trade', (entry) => entry.postings.some((p) => p.market_ticker === ticker));
      if (target.kind === 'pnl_off_by_one') {
        const pnl = trade.postings.find((p) => p.account === 'trading_pnl' && p.market_ticker === ticker);
        if (pnl === undefined) throw new BadRequest('invalid_parameter', `no ${ticker} row`);
        pnl.amount_centicents += 1n;
      } else {
        trade.postings = trade.postings.filter((p) => p.market_ticker !== ticker);
      }
      rebalanceTradeEntry(trade);
      applied.market_ticker = ticker;
      break;
    }
    case 'extra_market_row': {
      const trade = find('trade');
      const ticker = target.market_ticker ?? `XTR-PERP-${String(target.index + 1).padStart(3, '0')}`;
      trade.postings.push(
        { account: 'trading_pnl', market_ticker: ticker, amount_centicents: 5_000n + BigInt(target.index) },
        { account: 'trading_fees', market_ticker: ticker, amount_centicents: -250n },
      );
      rebalanceTradeEntry(trade);
      applied.market_ticker = ticker;
      break;
    }
    case 'duplicated_entry': {
      const trade = find('trade');
      const copy: JournalEntry = {
        ...trade,
        external_id: `${trade.external_id}/rebooked`,
        postings: trade.postings.map((p) => ({ ...p })),
      };
      entries.splice(entries.indexOf(trade) + 1, 0, copy);
      applied.external_id = copy.external_id;
      break;
    }
    case 'missing_funding':
    case 'wrong_funding': {
      // One market's funding left out of the subtrader's funding entry, or booked one centicent off.
      const paymentOf = (entry: JournalEntry) =>
        entry.postings.find(
          (p) => p.account === 'funding' && p.amount_centicents !== 0n && (target.market_ticker ?? p.market_ticker) === p.market_ticker,
        );
      const funding = find('funding', (entry) => paymentOf(entry) !== undefined);
      const posting = paymentOf(funding)!;
      if (target.kind === 'missing_funding') funding.postings = funding.postings.filter((p) => p !== posting);
      else posting.amount_centicents += 1n;
      rebalanceTradeEntry(funding);
      applied.market_ticker = posting.market_ticker;
      break;
    }
    case 'wrong_margin': {
      const margin = find('margin');
      for (const posting of margin.postings) {
        posting.amount_centicents += posting.account === 'maintenance_margin' ? WRONG_MARGIN_EXCESS : -WRONG_MARGIN_EXCESS;
      }
      break;
    }
    case 'unknown_subtrader': {
      const subtraderId = target.subtraderId;
      if (world.subtraderIds.includes(subtraderId)) throw new BadRequest('invalid_parameter', `${subtraderId} is known to Klear`);
      const postings = world.tickers.slice(0, 2).flatMap((ticker, i) => [
        { account: 'trading_pnl', market_ticker: ticker, amount_centicents: 12_345n * BigInt(i + 1) },
        { account: 'trading_fees', market_ticker: ticker, amount_centicents: -100n },
      ]);
      entries.push(tradeSettlementEntry(cycleText, subtraderId, postings), marginRequirementEntry(cycleText, subtraderId, 50_000n));
      break;
    }
    case 'missing_buffer_movement':
    case 'late_buffer_booking':
    case 'split_buffer_booking': {
      const reference = state.paymentTransactionId(target.cycle);
      const index = entries.findIndex((entry) => entry.entry_type === 'buffer_movement' && entry.business_reference === reference);
      if (index < 0 || state.paymentMs(target.cycle) > now) {
        throw new BadRequest('invalid_parameter', `cycle ${cycleText} has no paid settlement movement yet`);
      }
      const payment = entries[index];
      applied.external_id = payment.external_id;
      applied.business_reference = reference;
      delete applied.subtrader_id;
      if (target.kind === 'missing_buffer_movement') entries.splice(index, 1);
      else if (target.kind === 'late_buffer_booking') {
        // Booked 7 hours later without Klear's reference: only amount matching within the window can pair it.
        delete payment.business_reference;
        payment.effective_at = formatTimestamp(Date.parse(payment.effective_at) + LATE_BOOKING_MS);
      } else entries.splice(index, 1, ...splitMovement(payment));
      break;
    }
    case 'reversed_buffer_movement': {
      // Movements Klear never saw, each reversed: with a reference and without one. Nothing to report.
      const at = state.schedule.timeOf(target.cycle) + 2 * 3_600_000;
      const reference = `bt-phantom-${target.cycle}-${target.index}`;
      const referenced = bufferMovement(`buffer/phantom-${target.cycle}-${target.index}`, at, 12_345n, reference);
      const bare = bufferMovement(`buffer/bare-${target.cycle}-${target.index}`, at + 60_000, 6_789n);
      entries.push(referenced, reversalOf(referenced, at + 120_000), bare, reversalOf(bare, at + 180_000));
      applied.business_reference = reference;
      delete applied.subtrader_id;
      break;
    }
    case 'slashed_ids': {
      // Subtrader X/A with market M and subtrader X with market A/M: keys that collide unless their parts are encoded.
      const base = `ST-SLASH-${String(target.index + 1).padStart(3, '0')}`;
      const trade = (subtraderId: string, ticker: string, pnl: bigint) =>
        tradeSettlementEntry(cycleText, subtraderId, [
          { account: 'trading_pnl', market_ticker: ticker, amount_centicents: pnl },
          { account: 'trading_fees', market_ticker: ticker, amount_centicents: -10n },
        ]);
      entries.push(trade(`${base}/A`, 'M', 1_000n), trade(base, 'A/M', 2_000n));
      applied.subtrader_id = base;
      break;
    }
  }
  return applied;
}

/** A buffer movement booked as two entries under the same reference (a third, then the rest, a minute later). */
function splitMovement(payment: JournalEntry): JournalEntry[] {
  const amount = payment.postings.find((p) => p.account === 'settlement_buffer')!.amount_centicents;
  const first = amount / 3n;
  const part = (n: number, share: bigint, atMs: number): JournalEntry => ({
    ...payment,
    external_id: `${payment.external_id}/part-${n}`,
    effective_at: formatTimestamp(atMs),
    postings: payment.postings.map((p) => ({ ...p, amount_centicents: p.account === 'settlement_buffer' ? share : -share })),
  });
  const at = Date.parse(payment.effective_at);
  return [part(1, first, at), part(2, amount - first, at + 60_000)];
}

function bufferMovement(externalId: string, atMs: number, amount: bigint, reference?: string): JournalEntry {
  return {
    external_id: externalId,
    entry_type: 'buffer_movement',
    effective_at: formatTimestamp(atMs),
    ...(reference === undefined ? {} : { business_reference: reference }),
    description: 'deposit',
    postings: [
      { account: 'settlement_buffer', amount_centicents: amount },
      { account: 'bank', amount_centicents: -amount },
    ],
  };
}

function reversalOf(entry: JournalEntry, atMs: number): JournalEntry {
  return {
    external_id: `${entry.external_id}/reversal`,
    entry_type: 'reversal',
    effective_at: formatTimestamp(atMs),
    reverses_external_id: entry.external_id,
    description: 'booked in error',
    postings: entry.postings.map((p) => ({ ...p, amount_centicents: -p.amount_centicents })),
  };
}
