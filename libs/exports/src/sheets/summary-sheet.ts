import type ExcelJS from 'exceljs';
import { type Column, moneyPair, writeTable } from '../sheet-layout';
import type { SettlementDay } from '../settlement-day';
import { etDateTimeText, textCell } from '../workbook-cells';
import {
  breaksBehind,
  builtRelativeToDay,
  countBreaks,
  type Figure,
  isOpen,
  nextWorkbookNote,
  obligationBridge,
  runNote,
  unexplainedNote,
} from '../workbook-day';
import type {
  AuditAnchor,
  BreakRow,
  BufferPoint,
  BufferTotals,
  CycleRow,
  CycleTotals,
  FigureComparison,
  JobHealthRow,
  NextDayStatus,
  RunRow,
  WithdrawalDayTotal,
} from '../workbook-rows';

export const SUMMARY_SHEET = 'Summary';

/**
 * One labelled row per figure (Section, Item), so that people filter it and tests find a figure by
 * its label. "Klear / amount" holds Klear's figure in comparisons and the amount elsewhere;
 * "Breaks' difference" is the sum of the differences of the breaks behind a figure (klear - internal),
 * so a reader sees on each line whether the breaks on the Breaks sheet explain it.
 */
export interface SummaryLine {
  section: string;
  item: string;
  amount?: bigint | null;
  internal?: bigint | null;
  /** Defaults to amount - internal when both are given. */
  difference?: bigint | null;
  breaks?: bigint | null;
  count?: number | null;
  note?: string | null;
}

const differenceOf = (l: SummaryLine) =>
  l.difference !== undefined ? l.difference : l.amount != null && l.internal != null ? l.amount - l.internal : null;

export const SUMMARY_COLUMNS: Column<SummaryLine>[] = [
  { header: 'Section', kind: 'text', width: 20, value: (l) => l.section },
  { header: 'Item', kind: 'text', width: 46, value: (l) => textCell(l.item) },
  ...moneyPair<SummaryLine>('Klear / amount', (l) => l.amount ?? null),
  ...moneyPair<SummaryLine>('Internal', (l) => l.internal ?? null),
  ...moneyPair<SummaryLine>('Difference', (l) => differenceOf(l), true),
  ...moneyPair<SummaryLine>("Breaks' difference", (l) => l.breaks ?? null),
  { header: 'Count', kind: 'count', value: (l) => l.count ?? null },
  { header: 'Note', kind: 'text', width: 80, value: (l) => textCell(l.note ?? null) },
];

export interface SummaryData {
  day: SettlementDay;
  madeAt: Date;
  madeBy: string;
  productVersion: string;
  cycles: CycleRow[];
  runs: RunRow[];
  cycleTotals: CycleTotals[];
  dayTotals: FigureComparison;
  /** Every break on the Breaks sheet (found by the runs, and closed on the day). */
  breaks: BreakRow[];
  /** Breaks of earlier days' cycles still being worked at the build (not on this Breaks sheet). */
  earlierOpen: { count: number; differenceCenticents: bigint };
  bufferAtStart: BufferPoint;
  bufferAtEnd: BufferPoint;
  buffer: BufferTotals;
  withdrawals: WithdrawalDayTotal[];
  jobs: JobHealthRow[];
  next: NextDayStatus;
  /** The audit chain's last row in the build's snapshot (null: the chain is empty). */
  auditAnchor: AuditAnchor | null;
}

interface FigureSpec {
  figure: Figure;
  check: 'settlement_details' | 'maintenance_margin';
  klear: keyof FigureComparison;
  internal: keyof FigureComparison;
}

const FIGURES: FigureSpec[] = [
  { figure: 'pnl', check: 'settlement_details', klear: 'klearPnl', internal: 'internalPnl' },
  { figure: 'fees', check: 'settlement_details', klear: 'klearFees', internal: 'internalFees' },
  { figure: 'total', check: 'settlement_details', klear: 'klearTotal', internal: 'internalTotal' },
  { figure: 'maintenance margin', check: 'maintenance_margin', klear: 'klearMaintenanceMargin', internal: 'internalMaintenanceMargin' },
];

export function summaryLines(d: SummaryData): SummaryLine[] {
  const lines: SummaryLine[] = [];
  const add = (l: SummaryLine) => void lines.push(l);
  const runs = new Map(d.runs.map((r) => [r.cycle.getTime(), r]));
  const found = d.breaks.filter((b) => b.listing === 'found');

  add({ section: 'Workbook', item: 'settlement day (America/New_York)', note: d.day.date });
  add({ section: 'Workbook', item: 'made at', note: etDateTimeText(d.madeAt) });
  add({ section: 'Workbook', item: 'built', note: builtRelativeToDay(d.day, d.madeAt) });
  add({ section: 'Workbook', item: 'made by', note: d.madeBy });
  add({ section: 'Workbook', item: 'product version', note: d.productVersion });
  add({
    section: 'Workbook',
    item: 'what the sheets hold',
    note: "each cycle's figures and breaks come from its run below; the Breaks sheet lists the breaks those runs found (status as of the build) and the breaks closed during the day (docs/daily-workbook.md)",
  });
  add({
    section: 'Workbook',
    item: 'cycles',
    count: new Set(d.cycles.map((c) => c.executionTime.getTime())).size,
    note: d.cycles.length ? null : 'no Klear obligation executed on this day',
  });
  add({ section: 'Workbook', item: 'next workbook', note: nextWorkbookNote(d.next) });

  for (const c of d.cycles) {
    const at = etDateTimeText(c.executionTime);
    const run = runs.get(c.executionTime.getTime());
    const foundHere = found.filter((b) => b.cycle?.getTime() === c.executionTime.getTime()).length;
    add({
      section: 'Cycle',
      item: `${at} obligation`,
      note: `obligation ${c.obligationId}, last updated ${etDateTimeText(c.lastUpdatedTs)}`,
    });
    add({ section: 'Cycle', item: `${at} reconciliation run`, note: runNote(run, foundHere) });
    add({ section: 'Cycle', item: `${at} amount (${c.amountCenticents < 0n ? 'payable' : 'receivable'})`, amount: c.amountCenticents });
    add({ section: 'Cycle', item: `${at} pnl`, amount: c.pnlCenticents });
    add({ section: 'Cycle', item: `${at} fees`, amount: c.feesCenticents });
    add({ section: 'Cycle', item: `${at} maintenance margin`, amount: c.maintenanceMarginCenticents });
  }

  // The obligation amount rebuilt from Klear's own details, line by line (sign conventions in docs/ledger-and-breaks.md).
  for (const c of d.cycles) {
    const at = etDateTimeText(c.executionTime);
    const terms = obligationBridge(c);
    for (const t of terms) add({ section: 'Obligation bridge', item: `${at} ${t.label}`, amount: t.amountCenticents, note: t.source });
    const computed = terms.reduce((s, t) => s + t.amountCenticents, 0n);
    add({
      section: 'Obligation bridge',
      item: `${at} amount from the details`,
      amount: computed,
      note: terms.map((t) => t.label).join(' + '),
    });
    const consistency = found.filter(
      (b) => b.check === 'klear_consistency' && b.reference === 'amount' && b.cycle?.getTime() === c.executionTime.getTime(),
    );
    add({
      section: 'Obligation bridge',
      item: `${at} obligation amount (Klear)`,
      amount: c.amountCenticents,
      difference: c.amountCenticents - computed,
      breaks: consistency.length ? consistency.reduce((s, b) => s + b.differenceCenticents, 0n) : null,
      count: consistency.length,
      note:
        c.amountCenticents === computed
          ? 'equals the amount from the details'
          : "Klear's amount differs from its own details: a klear_consistency break",
    });
  }

  // Per cycle, why a difference is not fully explained by the run's breaks (none when it is).
  const cycleNote = (c: CycleTotals, spec: FigureSpec) =>
    unexplainedNote(
      runs.get(c.cycle.getTime()),
      spec.check,
      c[spec.klear] - c[spec.internal] - breaksBehind(found, spec.figure, c.cycle).differenceCenticents,
    );
  const compare = (scope: string, cycle: Date | null, f: FigureComparison, note: (spec: FigureSpec) => string | null) => {
    for (const spec of FIGURES) {
      const behind = breaksBehind(found, spec.figure, cycle);
      add({
        section: 'Klear vs internal',
        item: `${scope} ${spec.figure}`,
        amount: f[spec.klear],
        internal: f[spec.internal],
        breaks: behind.differenceCenticents,
        count: behind.count,
        note: note(spec),
      });
    }
  };
  for (const c of d.cycleTotals) compare(etDateTimeText(c.cycle) ?? '', c.cycle, c, (spec) => cycleNote(c, spec));
  const dayNote = (spec: FigureSpec) => {
    const notes = d.cycleTotals.map((c) => [c, cycleNote(c, spec)] as const).filter(([, n]) => n !== null);
    return notes.map(([c, n]) => `${etDateTimeText(c.cycle)}: ${n}`).join('; ') || null;
  };
  compare('day', null, d.dayTotals, dayNote);

  const history = (p: BufferPoint) =>
    `derived from Klear's balance history: the sum of its ${p.movementCount} movement(s) before ${etDateTimeText(p.at)}`;
  add({
    section: 'Buffer',
    item: 'available at start of day',
    amount: d.bufferAtStart.availableCenticents,
    note: history(d.bufferAtStart),
  });
  add({ section: 'Buffer', item: 'locked at start of day', amount: d.bufferAtStart.lockedCenticents, note: history(d.bufferAtStart) });
  add({
    section: 'Buffer',
    item: 'movements of the day (Klear history vs ledger)',
    amount: d.buffer.klearMovementsCenticents,
    internal: d.buffer.internalMovementsCenticents,
    count: d.buffer.klearMovementCount,
    note: `${d.buffer.internalMovementCount} ledger movement(s); matches and breaks on the Buffer movements and Breaks sheets`,
  });
  const endNote =
    history(d.bufferAtEnd) + (d.madeAt < d.day.end ? ` (built before the day ended: movements up to ${etDateTimeText(d.madeAt)})` : '');
  add({ section: 'Buffer', item: 'available at end of day', amount: d.bufferAtEnd.availableCenticents, note: endNote });
  add({ section: 'Buffer', item: 'locked at end of day', amount: d.bufferAtEnd.lockedCenticents, note: endNote });

  // Differences within a check's tolerance are not breaks; each run says how many it tolerated and their net sum.
  for (const c of d.cycles) {
    const run = runs.get(c.executionTime.getTime());
    for (const t of run?.tolerated ?? []) {
      const tolerance = run!.tolerances[t.check] ?? '0';
      add({
        section: 'Tolerated',
        item: `${etDateTimeText(c.executionTime)} ${t.check}`,
        difference: t.differenceCenticents,
        count: t.count,
        note: `within the ${t.check} tolerance (${tolerance} centicents) of run ${run!.runId}`,
      });
    }
  }

  // A break count's "Breaks' difference" is the sum of its breaks' differences (klear - internal).
  for (const b of countBreaks(d.breaks)) {
    add({
      section: b.listing === 'found' ? 'Breaks' : 'Closed on the day',
      item: `${b.check} ${b.status}`,
      breaks: b.differenceCenticents,
      count: b.count,
    });
  }
  add({ section: 'Breaks', item: 'to work on (open, acknowledged, pending_write_off)', count: found.filter(isOpen).length });
  add({ section: 'Breaks', item: "all found by the day's runs", count: found.length });
  add({
    section: 'Closed on the day',
    item: 'all closed on the day',
    count: d.breaks.length - found.length,
    note: 'closed by a run or resolved during the day, any cycle; not found by the runs above',
  });
  add({
    section: 'Earlier days',
    item: 'breaks of earlier cycles still being worked',
    breaks: d.earlierOpen.differenceCenticents,
    count: d.earlierOpen.count,
    note: "at the build; each is on its own day's workbook, all of them on GET /breaks?status=open",
  });

  for (const w of d.withdrawals)
    add({ section: 'Withdrawals', item: `requested on the day, now ${w.state}`, amount: w.amountCenticents, count: w.count });
  add({
    section: 'Withdrawals',
    item: 'requested on the day',
    amount: d.withdrawals.reduce((s, w) => s + w.amountCenticents, 0n),
    count: d.withdrawals.reduce((n, w) => n + w.count, 0),
  });

  for (const j of d.jobs) {
    add({
      section: 'Jobs',
      item: j.job,
      note: `last success ${etDateTimeText(j.lastSuccessAt) ?? 'never'}; last run ${j.lastRunStatus ?? '-'} at ${etDateTimeText(j.lastRunAt) ?? '-'}`,
    });
  }
  // Published outside the database: whoever keeps this file can later catch the chain cut back or rebuilt.
  const a = d.auditAnchor;
  add({
    section: 'Audit trail',
    item: 'anchor (latest audit row at the build)',
    note: a ? `${a.seq}:${a.hash}` : 'the audit log is empty',
  });
  if (a) {
    add({
      section: 'Audit trail',
      item: 'anchor MAC',
      note: a.mac ? `${a.mac} (key ${a.macKeyId})` : 'unsigned (SECRETS_KEY not set when the row was written)',
    });
    add({
      section: 'Audit trail',
      item: 'check it',
      note: `npm run cli -- audit:verify --anchor ${a.seq}:${a.hash} (fails when that row was rewritten or the chain cut back below it; docs/security.md)`,
    });
  }
  return lines;
}

export async function writeSummarySheet(workbook: ExcelJS.stream.xlsx.WorkbookWriter, d: SummaryData): Promise<number> {
  return writeTable(workbook, SUMMARY_SHEET, SUMMARY_COLUMNS, summaryLines(d));
}
