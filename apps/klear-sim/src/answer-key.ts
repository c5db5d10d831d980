import { balanceEvents } from './buffer';
import { formatTimestamp } from './clock';
import type { JournalEntry } from './ledger-entries';
import { cellFunding, cycleCellChanges, entryAssetClass } from './ledger-entries';
import { etDate, etDayEndExclusive } from './schedule';
import type { SimulatorState } from './state';

/** One break a correct reconciliation must report. Values are centicents; null = absent on that side. */
export interface ExpectedBreak {
  key: string;
  check: 'settlement_details' | 'maintenance_margin' | 'funding' | 'settlement_buffer' | 'klear_consistency';
  cycle: string;
  /** The asset class whose run finds it (every cycle's run is per asset class). */
  asset_class: string;
  reason_code: string;
  klear_value: bigint | null;
  internal_value: bigint | null;
  difference: bigint;
  pnl_difference?: bigint;
  fees_difference?: bigint;
}

export interface AnswerKeyOptions {
  /** Buffer movements left over by reference matching pair by amount within this window. */
  bufferMatchWindowMs: number;
}

interface Figures {
  pnl: bigint;
  fees: bigint;
}

function add(map: Map<string, bigint>, key: string, amount: bigint): void {
  map.set(key, (map.get(key) ?? 0n) + amount);
}

/** A break key: its parts percent-encoded (`%` -> %25, `/` -> %2F), joined by `/` (docs/ledger-and-breaks.md). */
export function breakKey(...parts: string[]): string {
  return parts.map((part) => part.replaceAll('%', '%25').replaceAll('/', '%2F')).join('/');
}

/** Separator of composite map keys (never in an id). */
const SEP = '\u0000';

/**
 * The reference reconciliation of one cycle: Klear as the simulator shows it at `now` against the
 * feed's entries, following the break table and rules of docs/ledger-and-breaks.md (tolerance zero),
 * one run per asset class: the class's obligation against the entries of that class, funding per
 * (subtrader, market), netted groups' margin against the sum of their members'; the buffer in the
 * run of the first class by name. Breaks are sorted by key, then asset class.
 */
export function expectedBreaksForCycle(
  state: SimulatorState,
  cycle: number,
  entries: JournalEntry[],
  now: number,
  options: AnswerKeyOptions,
): ExpectedBreak[] {
  const { world } = state;
  const cycleText = formatTimestamp(state.schedule.timeOf(cycle));
  const bufferClass = [...world.assetClasses].sort()[0];
  const breaks = world.assetClasses.flatMap((assetClass, classIndex) => {
    const inClass = entries.filter((entry) => entryAssetClass(entry) === assetClass);
    const found = [
      ...classBreaks(state, cycle, classIndex, inClass, now),
      ...klearConsistencyBreaks(state, cycle, classIndex, cycleText, now),
    ];
    if (assetClass === bufferClass) found.push(...bufferBreaks(state, cycle, cycleText, entries, now, options));
    return found.map((b) => ({ ...b, asset_class: assetClass }));
  });
  return breaks.sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : a.asset_class < b.asset_class ? -1 : a.asset_class > b.asset_class ? 1 : 0,
  );
}

type ClassFreeBreak = Omit<ExpectedBreak, 'asset_class'>;

/** The findings of one asset class's run on the entries of that class (buffer aside). */
function classBreaks(state: SimulatorState, cycle: number, classIndex: number, entries: JournalEntry[], now: number): ClassFreeBreak[] {
  const { world } = state;
  const cycleText = formatTimestamp(state.schedule.timeOf(cycle));
  const { feeAdjustments } = cycleCellChanges(state, cycle, now);
  const assetClass = world.assetClasses[classIndex];
  const breaks: ClassFreeBreak[] = [];

  // Klear side.
  const klearRows = new Map<string, Figures>();
  const klearMargins = new Map<string, bigint>();
  const klearFunding = new Map<string, bigint>();
  const prices = world.prices(cycle);
  const previousPrices = world.prices(cycle - 1);
  for (let s = 0; s < world.subtraderCount; s++) {
    for (const m of world.marketsOfClass[classIndex]) {
      const cell = world.cell(s, m, cycle, prices, previousPrices);
      const fees = BigInt(cell.fee) + (feeAdjustments.get(s * world.marketCount + m) ?? 0n);
      klearRows.set(`${world.subtraderIds[s]}${SEP}${world.tickers[m]}`, { pnl: BigInt(cell.pnl), fees });
      const funding = cellFunding(state, s, m, cycle, previousPrices);
      if (funding !== undefined) klearFunding.set(`${world.subtraderIds[s]}${SEP}${world.tickers[m]}`, funding);
    }
    if (world.groupOfSubtrader[s] < 0) klearMargins.set(world.subtraderIds[s], world.subtraderMargin(s, cycle, assetClass));
  }
  const klearSubtraders = new Set(world.subtraderIds);
  // A netted group's margin in this asset class: its rows, not its members'.
  const groupMargins = world.groupIds.map(() => 0n);
  for (const row of world.marginRows(cycle, classIndex)) if (row.group >= 0) groupMargins[row.group] += row.margin;
  const groupOf = new Map(world.subtraderIds.map((id, s) => [id, world.groupOfSubtrader[s]]));

  // Internal side.
  const internalRows = new Map<string, Figures>();
  const internalMargins = new Map<string, bigint>();
  const internalGroupMargins = new Map<number, bigint>();
  const internalFunding = new Map<string, bigint>();
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
      if (posting.account === 'maintenance_margin') {
        const group = groupOf.get(entry.subtrader_id) ?? -1;
        if (group >= 0) internalGroupMargins.set(group, (internalGroupMargins.get(group) ?? 0n) + posting.amount_centicents);
        else add(internalMargins, entry.subtrader_id, posting.amount_centicents);
      }
      if (posting.account === 'funding')
        add(internalFunding, `${entry.subtrader_id}${SEP}${posting.market_ticker}`, posting.amount_centicents);
      if (posting.account !== 'trading_pnl' && posting.account !== 'trading_fees') continue;
      const key = `${entry.subtrader_id}${SEP}${posting.market_ticker}`;
      const row = internalRows.get(key) ?? { pnl: 0n, fees: 0n };
      if (posting.account === 'trading_pnl') row.pnl += posting.amount_centicents;
      else row.fees -= posting.amount_centicents;
      internalRows.set(key, row);
    }
  }

  const oneSided = (subtrader: string) => !klearSubtraders.has(subtrader) || !internalSubtraders.has(subtrader);
  for (const key of new Set([...klearRows.keys(), ...internalRows.keys()])) {
    const [subtrader, market] = key.split(SEP);
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
      key: breakKey('settlement_details', cycleText, subtrader, market),
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
    // A side without a requirement counts as zero.
    if ((klear ?? 0n) === (internal ?? 0n)) continue;
    const reason = oneSided(subtrader)
      ? 'unknown_subtrader'
      : internal === undefined
        ? 'missing_internal'
        : klear === undefined
          ? 'missing_klear'
          : 'amount_mismatch';
    breaks.push({
      key: breakKey('maintenance_margin', cycleText, subtrader),
      check: 'maintenance_margin',
      cycle: cycleText,
      reason_code: reason,
      klear_value: klear ?? null,
      internal_value: internal ?? null,
      difference: (klear ?? 0n) - (internal ?? 0n),
    });
  }

  // A group's margin against the sum its members' entries hold (every member booked, or none: missing_internal).
  world.groupIds.forEach((groupId, g) => {
    const klear = groupMargins[g];
    const internal = internalGroupMargins.get(g);
    if (klear === (internal ?? 0n)) return;
    breaks.push({
      key: breakKey('maintenance_margin', cycleText, 'group', groupId),
      check: 'maintenance_margin',
      cycle: cycleText,
      reason_code: internal === undefined ? 'missing_internal' : 'amount_mismatch',
      klear_value: klear,
      internal_value: internal ?? null,
      difference: klear - (internal ?? 0n),
    });
  });

  for (const key of new Set([...klearFunding.keys(), ...internalFunding.keys()])) {
    const [subtrader, market] = key.split(SEP);
    const klear = klearFunding.get(key);
    const internal = internalFunding.get(key);
    if ((klear ?? 0n) === (internal ?? 0n)) continue;
    breaks.push({
      key: breakKey('funding', cycleText, subtrader, market),
      check: 'funding',
      cycle: cycleText,
      reason_code: oneSided(subtrader)
        ? 'unknown_subtrader'
        : internal === undefined
          ? 'missing_internal'
          : klear === undefined
            ? 'missing_klear'
            : 'amount_mismatch',
      klear_value: klear ?? null,
      internal_value: internal ?? null,
      difference: (klear ?? 0n) - (internal ?? 0n),
    });
  }

  return breaks;
}

/** Klear's published figures that contradict its others in one asset class's obligation (injected errors; the simulator is otherwise consistent). */
function klearConsistencyBreaks(
  state: SimulatorState,
  cycle: number,
  classIndex: number,
  cycleText: string,
  now: number,
): ClassFreeBreak[] {
  const { world } = state;
  const view = state.obligation(cycle, now, classIndex);
  const { feeAdjustments } = cycleCellChanges(state, cycle, now);
  const { detailTotalErrors } = view;
  const breaks: ClassFreeBreak[] = [];
  const prices = world.prices(cycle);
  const previousPrices = world.prices(cycle - 1);
  for (const [cellKey, error] of detailTotalErrors) {
    if (error === 0n) continue;
    const s = Math.floor(cellKey / world.marketCount);
    const m = cellKey % world.marketCount;
    const cell = world.cell(s, m, cycle, prices, previousPrices);
    const fees = BigInt(cell.fee) + (feeAdjustments.get(cellKey) ?? 0n);
    const total = BigInt(cell.pnl) - fees;
    breaks.push({
      key: breakKey('klear_consistency', cycleText, 'detail_total', world.settlementDetailId(cycle, s, m)),
      check: 'klear_consistency',
      cycle: cycleText,
      reason_code: 'klear_inconsistent',
      klear_value: total + error,
      internal_value: total,
      difference: error,
    });
  }
  // The first cycle has no previous requirement to compare a delta with.
  if (cycle > 0) {
    for (const [s, error] of view.marginDeltaErrors) {
      if (error === 0n) continue;
      const assetClass = world.assetClasses[classIndex];
      const delta = world.subtraderMargin(s, cycle, assetClass) - world.subtraderMargin(s, cycle - 1, assetClass);
      breaks.push({
        key: breakKey('klear_consistency', cycleText, 'margin_delta', world.subtraderIds[s]),
        check: 'klear_consistency',
        cycle: cycleText,
        reason_code: 'klear_inconsistent',
        klear_value: delta + error,
        internal_value: delta,
        difference: error,
      });
    }
  }
  return breaks;
}

/** The buffer period of a cycle: from the end of the previous settlement day to the end of its own; owned by the day's first cycle. */
function bufferPeriod(state: SimulatorState, cycle: number, now: number): { start: number; end: number } | undefined {
  const time = state.schedule.timeOf(cycle);
  const day = etDate(time);
  if (cycle > 0 && etDate(state.schedule.timeOf(cycle - 1)) === day) return undefined;
  if (cycle > state.lastSettledCycle(now)) return undefined;
  return { start: cycle === 0 ? -Infinity : etDayEndExclusive(state.schedule.timeOf(cycle - 1)), end: etDayEndExclusive(time) };
}

interface Movement {
  side: 'klear' | 'ledger';
  /** Business reference (Klear's business transaction id), or null for a ledger entry without one. */
  ref: string | null;
  /** The ledger entry the movement belongs to (the reversed one for a reversal). */
  root: string;
  atMs: number;
  amount: bigint;
}

interface Group {
  internalOnly: boolean;
  ident: string;
  atMs: number;
  klear?: bigint;
  ledger?: bigint;
}

/**
 * Settlement buffer of the cycle's period (docs/ledger-and-breaks.md): movement groups by reference
 * on both sides (a ledger entry without one, with its reversal, on its own), a group's time its
 * first movement's; groups on one side only are paired by equal amount within the window by a sweep
 * through time; the period's unpaired groups and reference groups with other nets are breaks; then
 * the running balance at the period's end.
 */
function bufferBreaks(
  state: SimulatorState,
  cycle: number,
  cycleText: string,
  entries: JournalEntry[],
  now: number,
  options: AnswerKeyOptions,
): ClassFreeBreak[] {
  const period = bufferPeriod(state, cycle, now);
  if (period === undefined) return [];
  const movements: Movement[] = balanceEvents(state, now).map((e) => ({
    side: 'klear',
    ref: e.businessTransactionId,
    root: '',
    atMs: e.atMs,
    amount: e.balanceDelta,
  }));
  const byId = new Map(entries.map((entry) => [entry.external_id, entry]));
  for (const entry of entries) {
    const buffer = entry.postings.filter((p) => p.account === 'settlement_buffer');
    if (buffer.length === 0) continue;
    const root = entry.reverses_external_id ? byId.get(entry.reverses_external_id)! : entry;
    movements.push({
      side: 'ledger',
      ref: root.business_reference ?? null,
      root: root.external_id,
      atMs: Date.parse(entry.effective_at),
      amount: buffer.reduce((s, p) => s + p.amount_centicents, 0n),
    });
  }
  const groups = new Map<string, Group>();
  for (const m of movements) {
    const internalOnly = m.ref === null;
    const ident = m.ref ?? m.root;
    const key = `${internalOnly}${SEP}${ident}`;
    const group = groups.get(key) ?? { internalOnly, ident, atMs: m.atMs };
    group.atMs = Math.min(group.atMs, m.atMs);
    group[m.side === 'klear' ? 'klear' : 'ledger'] = ((m.side === 'klear' ? group.klear : group.ledger) ?? 0n) + m.amount;
    groups.set(key, group);
  }
  const horizon = period.end + options.bufferMatchWindowMs;
  const inHorizon = [...groups.values()].filter((g) => g.atMs < horizon);

  // Leftovers: one side only, non-zero net; the sweep pairs each with the closest earlier one of the other side and the same amount.
  const leftovers = inHorizon
    .filter((g) => (g.klear === undefined) !== (g.ledger === undefined) && (g.klear ?? g.ledger) !== 0n)
    .map((g) => ({ group: g, side: g.klear === undefined ? 'ledger' : 'klear', amount: (g.klear ?? g.ledger)! }))
    .sort(
      (a, b) =>
        a.group.atMs - b.group.atMs ||
        cmp(a.side, b.side) ||
        Number(a.group.internalOnly) - Number(b.group.internalOnly) ||
        cmp(a.group.ident, b.group.ident),
    );
  const matched = new Set<Group>();
  const waiting = new Map<string, Array<(typeof leftovers)[number]>>();
  for (const item of leftovers) {
    const others = waiting.get(`${item.side === 'klear' ? 'ledger' : 'klear'}${SEP}${item.amount}`);
    const candidate = others?.[others.length - 1];
    if (candidate !== undefined && item.group.atMs - candidate.group.atMs <= options.bufferMatchWindowMs) {
      others!.pop();
      matched.add(item.group).add(candidate.group);
      continue;
    }
    const key = `${item.side}${SEP}${item.amount}`;
    waiting.set(key, [...(waiting.get(key) ?? []), item]);
  }

  const breaks: ClassFreeBreak[] = [];
  for (const g of inHorizon) {
    if (g.atMs < period.start || g.atMs >= period.end || matched.has(g) || (g.klear ?? 0n) === (g.ledger ?? 0n)) continue;
    breaks.push({
      key: g.internalOnly ? breakKey('settlement_buffer', 'internal', g.ident) : breakKey('settlement_buffer', g.ident),
      check: 'settlement_buffer',
      cycle: cycleText,
      reason_code: g.klear === undefined ? 'missing_klear' : g.ledger === undefined ? 'missing_internal' : 'amount_mismatch',
      klear_value: g.klear ?? null,
      internal_value: g.ledger ?? null,
      difference: (g.klear ?? 0n) - (g.ledger ?? 0n),
    });
  }
  const balance = (side: Movement['side']) =>
    movements.filter((m) => m.side === side && m.atMs < period.end).reduce((s, m) => s + m.amount, 0n);
  const [klearBalance, internalBalance] = [balance('klear'), balance('ledger')];
  if (klearBalance !== internalBalance) {
    breaks.push({
      key: breakKey('settlement_buffer', cycleText, 'running_balance'),
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

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
