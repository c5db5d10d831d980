import { balanceEvents } from './buffer';
import { formatTimestamp } from './clock';
import type { JournalEntry } from './ledger-entries';
import { cycleDayEnd } from './ledger-entries';
import { etDayEndExclusive } from './schedule';
import type { SimulatorState } from './state';

/** One break a correct reconciliation must report. Values are centicents; null = absent on that side. */
export interface ExpectedBreak {
  key: string;
  check: 'settlement_details' | 'maintenance_margin' | 'settlement_buffer';
  cycle: string;
  reason_code: string;
  klear_value: bigint | null;
  internal_value: bigint | null;
  difference: bigint;
  pnl_difference?: bigint;
  fees_difference?: bigint;
}

interface Figures {
  pnl: bigint;
  fees: bigint;
}

function add(map: Map<string, bigint>, key: string, amount: bigint): void {
  map.set(key, (map.get(key) ?? 0n) + amount);
}

/**
 * The reference reconciliation of one cycle: Klear as the simulator shows it at `now` against the
 * feed's entries, following the break table and reason rules of docs/ledger-and-breaks.md
 * (tolerance zero). Breaks are sorted by key.
 */
export function expectedBreaksForCycle(state: SimulatorState, cycle: number, entries: JournalEntry[], now: number): ExpectedBreak[] {
  const { world } = state;
  const view = state.obligation(cycle, now);
  const cycleText = formatTimestamp(view.executionMs);
  const breaks: ExpectedBreak[] = [];

  // Klear side.
  const klearRows = new Map<string, Figures>();
  const klearMargins = new Map<string, bigint>();
  const prices = world.prices(cycle);
  const previousPrices = world.prices(cycle - 1);
  for (let s = 0; s < world.subtraderCount; s++) {
    for (let m = 0; m < world.marketCount; m++) {
      const cell = world.cell(s, m, cycle, prices, previousPrices);
      const fees = BigInt(cell.fee) + (view.feeAdjustments.get(s * world.marketCount + m) ?? 0n);
      klearRows.set(`${world.subtraderIds[s]}/${world.tickers[m]}`, { pnl: BigInt(cell.pnl), fees });
    }
    klearMargins.set(world.subtraderIds[s], world.subtraderMargin(s, cycle));
  }
  const klearSubtraders = new Set(world.subtraderIds);

  // Internal side.
  const internalRows = new Map<string, Figures>();
  const internalMargins = new Map<string, bigint>();
  const internalSubtraders = new Set<string>();
  const tradeEntriesPerSubtrader = new Map<string, number>();
  const reversed = new Set(entries.filter((entry) => entry.reverses_external_id).map((entry) => entry.reverses_external_id));
  for (const entry of entries) {
    if (entry.cycle !== cycleText || entry.subtrader_id === undefined) continue;
    internalSubtraders.add(entry.subtrader_id);
    if (entry.entry_type === 'trade_settlement' && !reversed.has(entry.external_id)) {
      tradeEntriesPerSubtrader.set(entry.subtrader_id, (tradeEntriesPerSubtrader.get(entry.subtrader_id) ?? 0) + 1);
    }
    for (const posting of entry.postings) {
      if (posting.account === 'maintenance_margin') add(internalMargins, entry.subtrader_id, posting.amount_centicents);
      if (posting.account !== 'trading_pnl' && posting.account !== 'trading_fees') continue;
      const key = `${entry.subtrader_id}/${posting.market_ticker}`;
      const row = internalRows.get(key) ?? { pnl: 0n, fees: 0n };
      if (posting.account === 'trading_pnl') row.pnl += posting.amount_centicents;
      else row.fees -= posting.amount_centicents;
      internalRows.set(key, row);
    }
  }

  const oneSided = (subtrader: string) => !klearSubtraders.has(subtrader) || !internalSubtraders.has(subtrader);
  for (const key of new Set([...klearRows.keys(), ...internalRows.keys()])) {
    const [subtrader] = key.split('/');
    const klear = klearRows.get(key);
    const internal = internalRows.get(key);
    // A market missing on one side counts as zero PnL and zero fees (docs/ledger-and-breaks.md).
    if ((klear?.pnl ?? 0n) === (internal?.pnl ?? 0n) && (klear?.fees ?? 0n) === (internal?.fees ?? 0n)) continue;
    const reason = oneSided(subtrader)
      ? 'unknown_subtrader'
      : (tradeEntriesPerSubtrader.get(subtrader) ?? 0) > 1
        ? 'duplicate'
        : internal === undefined
          ? 'missing_internal'
          : klear === undefined
            ? 'missing_klear'
            : 'amount_mismatch';
    const klearTotal = klear === undefined ? null : klear.pnl - klear.fees;
    const internalTotal = internal === undefined ? null : internal.pnl - internal.fees;
    breaks.push({
      key: `settlement_details/${cycleText}/${key}`,
      check: 'settlement_details',
      cycle: cycleText,
      reason_code: reason,
      klear_value: klearTotal,
      internal_value: internalTotal,
      difference: (klearTotal ?? 0n) - (internalTotal ?? 0n),
      pnl_difference: (klear?.pnl ?? 0n) - (internal?.pnl ?? 0n),
      fees_difference: (klear?.fees ?? 0n) - (internal?.fees ?? 0n),
    });
  }

  for (const subtrader of new Set([...klearMargins.keys(), ...internalMargins.keys()])) {
    const klear = klearMargins.get(subtrader);
    const internal = internalMargins.get(subtrader);
    if (klear === internal) continue;
    const reason = oneSided(subtrader)
      ? 'unknown_subtrader'
      : internal === undefined
        ? 'missing_internal'
        : klear === undefined
          ? 'missing_klear'
          : 'amount_mismatch';
    breaks.push({
      key: `maintenance_margin/${cycleText}/${subtrader}`,
      check: 'maintenance_margin',
      cycle: cycleText,
      reason_code: reason,
      klear_value: klear ?? null,
      internal_value: internal ?? null,
      difference: (klear ?? 0n) - (internal ?? 0n),
    });
  }

  breaks.push(...bufferBreaks(state, cycle, cycleText, entries, now));
  return breaks.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Movements of the cycle's ET day matched by reference, then the running balance at the day's end. */
function bufferBreaks(state: SimulatorState, cycle: number, cycleText: string, entries: JournalEntry[], now: number): ExpectedBreak[] {
  const dayEnd = cycleDayEnd(state, cycle);
  const events = balanceEvents(state, now).filter((event) => event.atMs < dayEnd);
  const sameDay = (ms: number) => etDayEndExclusive(ms) === dayEnd;
  const klearByReference = new Map<string, bigint>();
  let klearBalance = 0n;
  for (const event of events) {
    klearBalance += event.balanceDelta;
    if (sameDay(event.atMs)) add(klearByReference, event.businessTransactionId, event.balanceDelta);
  }
  const internalByReference = new Map<string, { amount: bigint; externalId: string }>();
  let internalBalance = 0n;
  for (const entry of entries) {
    if (entry.entry_type !== 'buffer_movement') continue;
    const atMs = Date.parse(entry.effective_at);
    if (atMs >= dayEnd) continue;
    const amount = entry.postings.filter((p) => p.account === 'settlement_buffer').reduce((sum, p) => sum + p.amount_centicents, 0n);
    internalBalance += amount;
    if (!sameDay(atMs)) continue;
    const reference = entry.business_reference ?? `internal/${entry.external_id}`;
    const previous = internalByReference.get(reference);
    internalByReference.set(reference, { amount: (previous?.amount ?? 0n) + amount, externalId: entry.external_id });
  }
  const breaks: ExpectedBreak[] = [];
  for (const [reference, klear] of klearByReference) {
    const internal = internalByReference.get(reference);
    if (internal !== undefined && internal.amount === klear) continue;
    if (internal === undefined && klear === 0n) continue; // a lock release moves no available cash
    breaks.push({
      key: `settlement_buffer/${reference}`,
      check: 'settlement_buffer',
      cycle: cycleText,
      reason_code: internal === undefined ? 'missing_internal' : 'amount_mismatch',
      klear_value: klear,
      internal_value: internal?.amount ?? null,
      difference: klear - (internal?.amount ?? 0n),
    });
  }
  for (const [reference, internal] of internalByReference) {
    if (klearByReference.has(reference)) continue;
    breaks.push({
      key: `settlement_buffer/internal/${internal.externalId}`,
      check: 'settlement_buffer',
      cycle: cycleText,
      reason_code: 'missing_klear',
      klear_value: null,
      internal_value: internal.amount,
      difference: -internal.amount,
    });
  }
  if (klearBalance !== internalBalance) {
    breaks.push({
      key: `settlement_buffer/${cycleText}/running_balance`,
      check: 'settlement_buffer',
      cycle: cycleText,
      reason_code: 'balance_mismatch',
      klear_value: klearBalance,
      internal_value: internalBalance,
      difference: klearBalance - internalBalance,
    });
  }
  return breaks;
}
