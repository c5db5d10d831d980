import { z } from 'zod';
import type { ExpectedBreak } from './answer-key';
import { expectedBreaksForCycle } from './answer-key';
import { formatTimestamp } from './clock';
import { BadRequest } from './http-io';
import type { JournalEntry } from './ledger-entries';
import { bufferEntries, cycleDayEnd, cycleEntries, marginRequirementEntry, rebalanceTradeEntry, tradeSettlementEntry } from './ledger-entries';
import type { SimulatorState } from './state';

export const DISCREPANCY_KINDS = [
  'missing_fee',
  'pnl_off_by_one',
  'unknown_subtrader',
  'duplicated_entry',
  'missing_buffer_movement',
  'wrong_margin',
  'missing_market_row',
  'extra_market_row',
] as const;
export type DiscrepancyKind = (typeof DISCREPANCY_KINDS)[number];

/** Extra requirement booked by `wrong_margin`: one USD. */
const WRONG_MARGIN_EXCESS = 10_000n;
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
      }),
    )
    .default([]),
  format: z.enum(['json', 'csv']).default('json'),
});
export type LedgerFeedRequest = z.infer<typeof ledgerFeedRequestSchema>;

export interface AppliedDiscrepancy {
  kind: DiscrepancyKind;
  cycle: string;
  subtrader_id?: string;
  market_ticker?: string;
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
    breaks: cycles.flatMap((cycle) => expectedBreaksForCycle(state, cycle, entries, now)),
  };
}

interface Target {
  kind: DiscrepancyKind;
  cycle: number;
  subtraderId: string;
  market_ticker?: string;
  index: number;
}

function injectDiscrepancy(state: SimulatorState, entries: JournalEntry[], target: Target, now: number): AppliedDiscrepancy {
  const { world } = state;
  const cycleText = formatTimestamp(state.schedule.timeOf(target.cycle));
  const applied: AppliedDiscrepancy = { kind: target.kind, cycle: cycleText, subtrader_id: target.subtraderId };
  const find = (prefix: string) => {
    const entry = entries.find((candidate) => candidate.external_id === `${prefix}/${cycleText}/${target.subtraderId}`);
    if (entry === undefined) throw new BadRequest('invalid_parameter', `no ${prefix} entry for ${target.subtraderId} in ${cycleText}`);
    return entry;
  };
  const defaultTicker = world.tickers[target.index % world.marketCount];
  switch (target.kind) {
    case 'missing_fee': {
      const trade = find('trade');
      const fee = trade.postings.find(
        (p) => p.account === 'trading_fees' && p.amount_centicents !== 0n && (target.market_ticker ?? p.market_ticker) === p.market_ticker,
      );
      if (fee === undefined) throw new BadRequest('invalid_parameter', 'no non-zero fee to remove for that subtrader');
      trade.postings = trade.postings.filter((p) => p !== fee);
      rebalanceTradeEntry(trade);
      applied.market_ticker = fee.market_ticker;
      break;
    }
    case 'pnl_off_by_one':
    case 'missing_market_row': {
      const trade = find('trade');
      const ticker = target.market_ticker ?? defaultTicker;
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
      const copy: JournalEntry = { ...trade, external_id: `${trade.external_id}/rebooked`, postings: trade.postings.map((p) => ({ ...p })) };
      entries.splice(entries.indexOf(trade) + 1, 0, copy);
      applied.external_id = copy.external_id;
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
    case 'missing_buffer_movement': {
      const reference = state.paymentTransactionId(target.cycle);
      const index = entries.findIndex((entry) => entry.entry_type === 'buffer_movement' && entry.business_reference === reference);
      if (index < 0 || state.paymentMs(target.cycle) > now) {
        throw new BadRequest('invalid_parameter', `cycle ${cycleText} has no paid settlement movement yet`);
      }
      applied.external_id = entries[index].external_id;
      applied.business_reference = reference;
      delete applied.subtrader_id;
      entries.splice(index, 1);
      break;
    }
  }
  return applied;
}
