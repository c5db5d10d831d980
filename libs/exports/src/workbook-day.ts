import { DateTime } from 'luxon';
import { SETTLEMENT_ZONE, type SettlementDay } from './settlement-day';
import { etDateTimeText } from './workbook-cells';
import {
  type BreakCount,
  type BreakListing,
  type BreakRow,
  type CycleRow,
  type NextDayStatus,
  OPEN_BREAK_STATUSES,
  type RunRow,
  type SubtraderFigures,
  type SubtraderRow,
} from './workbook-rows';

/*
 * What the sheets of one day's workbook mean, derived from the rows the read model returns
 * (docs/daily-workbook.md). Every sheet takes its breaks from one list, so their counts cannot disagree.
 */

const DAY_MS = 86_400_000;
const LISTING_ORDER: Record<BreakListing, number> = { found: 0, 'closed on the day': 1 };

/** The Summary's break table: the Breaks sheet's rows counted by listing, check and status. */
export function countBreaks(breaks: BreakRow[]): BreakCount[] {
  const counts = new Map<string, BreakCount>();
  for (const b of breaks) {
    const key = `${b.listing}\u0000${b.check}\u0000${b.status}`;
    const c = counts.get(key) ?? { listing: b.listing, check: b.check, status: b.status, count: 0, differenceCenticents: 0n };
    c.count += 1;
    c.differenceCenticents += b.differenceCenticents;
    counts.set(key, c);
  }
  return [...counts.values()].sort(
    (a, b) => LISTING_ORDER[a.listing] - LISTING_ORDER[b.listing] || a.check.localeCompare(b.check) || a.status.localeCompare(b.status),
  );
}

export const isOpen = (b: BreakRow): boolean => OPEN_BREAK_STATUSES.includes(b.status);

/** Subtrader figures with the counts of the breaks the day's runs found for each. */
export function withBreakCounts(figures: SubtraderFigures[], found: BreakRow[]): SubtraderRow[] {
  const per = new Map<string, { all: number; open: number; resolved: number }>();
  for (const b of found) {
    if (b.listing !== 'found' || b.subtraderId === null) continue;
    const c = per.get(b.subtraderId) ?? { all: 0, open: 0, resolved: 0 };
    c.all += 1;
    if (isOpen(b)) c.open += 1;
    if (b.status === 'resolved') c.resolved += 1;
    per.set(b.subtraderId, c);
  }
  return figures.map((f) => {
    const c = per.get(f.subtraderId) ?? { all: 0, open: 0, resolved: 0 };
    return { ...f, breakCount: c.all, openBreakCount: c.open, resolvedBreakCount: c.resolved };
  });
}

/**
 * A subtrader's status for the day: `open breaks` while any of its breaks is being worked; `ok`
 * when nothing differs and nothing broke; `resolved` when its breaks are all resolved; otherwise a
 * difference no break explains (`difference, no break`: within tolerance, or a cycle not reconciled).
 */
export function subtraderStatus(r: SubtraderRow): string {
  const differs =
    r.klearTotal !== r.internalTotal ||
    r.klearPnl !== r.internalPnl ||
    r.klearFees !== r.internalFees ||
    r.klearMaintenanceMargin !== r.internalMaintenanceMargin;
  if (r.openBreakCount > 0) return 'open breaks';
  if (r.breakCount === 0) return differs ? 'difference, no break' : 'ok';
  // A run's findings are open or resolved: a break it found is closed only by a later run, whose findings the sheet would show instead.
  return 'resolved';
}

/** Which Klear-vs-internal figure a break explains, and by how much. */
export type Figure = 'pnl' | 'fees' | 'total' | 'maintenance margin';

export function breakContribution(b: BreakRow, figure: Figure): bigint | null {
  if (b.check === 'settlement_details') {
    if (figure === 'pnl') return b.pnlDifferenceCenticents ?? 0n;
    if (figure === 'fees') return b.feesDifferenceCenticents ?? 0n;
    if (figure === 'total') return b.differenceCenticents;
  }
  if (b.check === 'maintenance_margin' && figure === 'maintenance margin') return b.differenceCenticents;
  return null;
}

export interface Explanation {
  differenceCenticents: bigint;
  count: number;
}

/** The found breaks of `cycle` (or of the whole day when null) behind one Klear-vs-internal figure. */
export function breaksBehind(found: BreakRow[], figure: Figure, cycle: Date | null): Explanation {
  let differenceCenticents = 0n;
  let count = 0;
  for (const b of found) {
    if (b.listing !== 'found' || (cycle !== null && b.cycle?.getTime() !== cycle.getTime())) continue;
    const part = breakContribution(b, figure);
    if (part === null || (part === 0n && figure !== 'total' && figure !== 'maintenance margin')) continue;
    differenceCenticents += part;
    count += 1;
  }
  return { differenceCenticents, count };
}

/** One line of the bridge from Klear's settlement total to the obligation amount. */
export interface BridgeTerm {
  label: string;
  amountCenticents: bigint;
  source: string;
}

/**
 * amount = sum(details.total_amount) - sum(margin details' delta) (docs/ledger-and-breaks.md, sign
 * conventions). It starts from pnl - fees, the total the Klear-vs-internal lines compare; a detail
 * whose own total differs from its pnl - fees adds a line (Klear's inconsistency, not the ledger's).
 * Funding payments (the live API) will be one more term here.
 */
export function obligationBridge(c: CycleRow): BridgeTerm[] {
  const terms: BridgeTerm[] = [
    {
      label: 'settlement total (details: pnl - fees)',
      amountCenticents: c.detailsPnlLessFeesCenticents,
      source: "sum of the settlement details' pnl - fees",
    },
  ];
  const reported = c.detailsTotalCenticents - c.detailsPnlLessFeesCenticents;
  if (reported !== 0n) {
    terms.push({
      label: "details' own totals beyond pnl - fees",
      amountCenticents: reported,
      source: "sum of the details' total_amount minus their pnl - fees: Klear's inconsistency",
    });
  }
  terms.push({
    label: 'maintenance margin delta (paid when it rises)',
    amountCenticents: -c.marginDeltaCenticents,
    source: "minus the sum of the margin details' delta",
  });
  return terms;
}

const etDate = (at: Date) => DateTime.fromJSDate(at, { zone: SETTLEMENT_ZONE }).startOf('day');
const daysBetween = (from: Date, to: Date) => Math.round(etDate(to).diff(etDate(from), 'days').days);
const plural = (n: number, word: string, words = `${word}s`) => `${n} ${n === 1 ? word : words}`;

/** When the workbook was built relative to its day, and what "open" therefore means. */
export function builtRelativeToDay(day: SettlementDay, madeAt: Date): string {
  if (madeAt < day.end) {
    return `on the day, before it ended: statuses are those at ${etDateTimeText(madeAt)}; later movements and runs are not in this version`;
  }
  const days = Math.max(1, daysBetween(day.start, madeAt));
  return `after the day, ${plural(days, 'day')} later: break statuses are as of the build (${etDateTimeText(madeAt)}), the figures are those of each cycle's run below`;
}

/** The run a cycle's figures and breaks come from, and what changed since. */
export function runNote(run: RunRow | undefined, foundCount: number): string {
  if (!run) return 'not reconciled: no successful run; the ledger side is the whole ledger and no break explains a difference';
  const finished = run.finishedAt
    ? `finished ${etDateTimeText(run.finishedAt)} (${relativeToCycle(run.cycle, run.finishedAt)})`
    : 'finished (time unknown)';
  const parts = [
    `run ${run.runId}, ${finished}, ledger up to entry ${run.ledgerHighWaterMark ?? 'all'}, ${plural(foundCount, 'break')} found`,
  ];
  if (run.laterLedgerEntries > 0) {
    parts.push(
      `${plural(run.laterLedgerEntries, 'ledger entry', 'ledger entries')} of this cycle booked after the run ${run.laterLedgerEntries === 1 ? 'is' : 'are'} not in these figures`,
    );
  }
  if (run.klearChangedSince) parts.push('Klear changed the obligation after this run: reconcile the cycle again');
  return parts.join('; ');
}

function relativeToCycle(cycle: Date, at: Date): string {
  const days = daysBetween(cycle, at);
  return days <= 0 ? "on the cycle's day" : `${plural(days, 'day')} after the cycle's day`;
}

/** Why a Klear-vs-internal difference is not (fully) explained by breaks, when it is not. */
export function unexplainedNote(
  run: RunRow | undefined,
  check: 'settlement_details' | 'maintenance_margin',
  unexplained: bigint,
): string | null {
  if (unexplained === 0n) return null;
  if (!run) return 'not reconciled: no break explains this difference yet';
  if (run.klearChangedSince) return `Klear changed the obligation after run ${run.runId}: reconcile again`;
  const tolerance = run.tolerances[check] ?? '0';
  if (tolerance !== '0')
    return `${unexplained.toString()} centicents within the ${check} tolerance (${tolerance} centicents) of run ${run.runId}`;
  return `${unexplained.toString()} centicents not explained by run ${run.runId}'s breaks`;
}

/** When the next day's workbook is due, from what the database knows at the build. */
export function nextWorkbookNote(next: NextDayStatus): string {
  if (next.latestWorkbook)
    return `${next.date}: already built (version ${next.latestWorkbook.version}, ${etDateTimeText(next.latestWorkbook.createdAt)})`;
  const job = 'by the daily_workbook job as soon as';
  if (next.cycles.length > 0) {
    const at = next.cycles.map((c) => DateTime.fromJSDate(c, { zone: SETTLEMENT_ZONE }).toFormat('HH:mm')).join(', ');
    const cycles = next.cycles.length === 1 ? `its cycle (${at} ET) is` : `its cycles (${at} ET) are`;
    if (next.reconciledCycles === next.cycles.length) return `${next.date}: due now, ${cycles} reconciled; built ${job} it runs next`;
    return `${next.date}: due ${job} ${cycles} reconciled`;
  }
  const expected = next.previousCycle
    ? ` (expected ${DateTime.fromJSDate(next.previousCycle, { zone: SETTLEMENT_ZONE }).toFormat('HH:mm')} ET, the time of the last cycle)`
    : '';
  return `${next.date}: due ${job} its cycle${expected} is ingested and reconciled`;
}

/** Whole days from first seen to the close, or to the build for breaks still open. */
export function breakAgeDays(b: BreakRow, madeAt: Date): number {
  const until = b.closedAt ?? madeAt;
  return Math.max(0, Math.floor((until.getTime() - b.firstSeenAt.getTime()) / DAY_MS));
}

/** The ET day after `day`. */
export function nextSettlementDate(day: SettlementDay): string {
  return DateTime.fromJSDate(day.start, { zone: SETTLEMENT_ZONE }).plus({ days: 1 }).toISODate()!;
}
