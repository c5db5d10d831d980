import type ExcelJS from 'exceljs';
import { moneyColumns, TableSheet, type SheetColumn } from '../sheet-layout';
import { centicentsCell, etDateTimeText, textCell, usdCell } from '../workbook-cells';
import type { BalancePoint, BreakCount, BufferTotals, CycleRow, CycleTotals, FigureComparison, JobHealthRow, RunRow, WithdrawalDayTotal } from '../workbook-rows';

export const SUMMARY_SHEET = 'Summary';

/**
 * One labelled row per figure (Section, Item), so that people filter it and tests find a figure by
 * its label. "Klear / amount" holds Klear's figure in comparisons and the amount elsewhere.
 */
export const SUMMARY_COLUMNS: SheetColumn[] = [
  { header: 'Section', kind: 'text', width: 20 },
  { header: 'Item', kind: 'text', width: 42 },
  ...moneyColumns('Klear / amount'),
  ...moneyColumns('Internal'),
  ...moneyColumns('Difference', true),
  { header: 'Count', kind: 'count' },
  { header: 'Note', kind: 'text', width: 60 },
];

export interface SummaryData {
  date: string;
  madeAt: Date;
  madeBy: string;
  productVersion: string;
  cycles: CycleRow[];
  runs: RunRow[];
  cycleTotals: CycleTotals[];
  dayTotals: FigureComparison;
  balanceAtStart: BalancePoint | null;
  balanceAtEnd: BalancePoint | null;
  buffer: BufferTotals;
  breakCounts: BreakCount[];
  withdrawals: WithdrawalDayTotal[];
  jobs: JobHealthRow[];
}

type Money = bigint | null;

export async function writeSummarySheet(workbook: ExcelJS.stream.xlsx.WorkbookWriter, d: SummaryData): Promise<number> {
  const t = TableSheet.open(workbook, SUMMARY_SHEET, SUMMARY_COLUMNS);
  const row = (section: string, item: string, amount: Money, internal: Money = null, count: number | null = null, note: string | null = null, explicitDifference: Money = null) => {
    const difference = amount !== null && internal !== null ? amount - internal : explicitDifference;
    t.add([section, textCell(item), usdCell(amount), centicentsCell(amount), usdCell(internal), centicentsCell(internal), usdCell(difference), centicentsCell(difference), count, textCell(note)]);
  };
  const compare = (section: string, scope: string, f: FigureComparison) => {
    row(section, `${scope} pnl`, f.klearPnl, f.internalPnl);
    row(section, `${scope} fees`, f.klearFees, f.internalFees);
    row(section, `${scope} total`, f.klearTotal, f.internalTotal);
    row(section, `${scope} maintenance margin`, f.klearMaintenanceMargin, f.internalMaintenanceMargin);
  };

  row('Workbook', 'settlement day (America/New_York)', null, null, null, d.date);
  row('Workbook', 'made at', null, null, null, etDateTimeText(d.madeAt));
  row('Workbook', 'made by', null, null, null, d.madeBy);
  row('Workbook', 'product version', null, null, null, d.productVersion);
  const runs = new Map(d.runs.map((r) => [r.cycle.getTime(), r]));
  row('Workbook', 'cycles', null, null, d.cycles.length, d.cycles.length ? null : 'no Klear obligation executed on this day');

  for (const c of d.cycles) {
    const at = etDateTimeText(c.executionTime);
    const run = runs.get(c.executionTime.getTime());
    row('Cycle', `${at} obligation`, null, null, null, `obligation ${c.obligationId}, last updated ${etDateTimeText(c.lastUpdatedTs)}`);
    row('Cycle', `${at} reconciliation run`, null, null, null, run ? `run ${run.runId}, ledger up to ${run.ledgerHighWaterMark ?? 'all'}, finished ${etDateTimeText(run.finishedAt)}` : 'not reconciled');
    row('Cycle', `${at} amount (${c.amountCenticents < 0n ? 'payable' : 'receivable'})`, c.amountCenticents);
    row('Cycle', `${at} pnl`, c.pnlCenticents);
    row('Cycle', `${at} fees`, c.feesCenticents);
    row('Cycle', `${at} maintenance margin`, c.maintenanceMarginCenticents);
  }
  for (const c of d.cycleTotals) compare('Klear vs internal', etDateTimeText(c.cycle) ?? '', c);
  compare('Klear vs internal', 'day', d.dayTotals);

  const balance = (when: string, b: BalancePoint | null) => {
    const note = b ? `pulled ${etDateTimeText(b.pulledAt)}` : 'no balance pulled by then';
    row('Buffer', `available at ${when} of day`, b?.availableCenticents ?? null, null, null, note);
    row('Buffer', `locked at ${when} of day`, b?.lockedCenticents ?? null, null, null, note);
  };
  balance('start', d.balanceAtStart);
  balance('end', d.balanceAtEnd);
  row('Buffer', 'movements of the day (Klear history vs ledger)', d.buffer.klearMovementsCenticents, d.buffer.internalMovementsCenticents, d.buffer.klearMovementCount, `${d.buffer.internalMovementCount} ledger movement(s)`);

  // A break count's Difference is the sum of its breaks' differences (klear - internal).
  for (const b of d.breakCounts) row('Breaks', `${b.check} ${b.dayStatus}`, null, null, b.count, null, b.differenceCenticents);
  row('Breaks', 'all', null, null, d.breakCounts.reduce((n, b) => n + b.count, 0));

  for (const w of d.withdrawals) row('Withdrawals', `requested today, now ${w.state}`, w.amountCenticents, null, w.count);
  row('Withdrawals', 'requested today', d.withdrawals.reduce((s, w) => s + w.amountCenticents, 0n), null, d.withdrawals.reduce((n, w) => n + w.count, 0));

  for (const j of d.jobs) {
    row('Jobs', j.job, null, null, null, `last success ${etDateTimeText(j.lastSuccessAt) ?? 'never'}; last run ${j.lastRunStatus ?? '-'} at ${etDateTimeText(j.lastRunAt) ?? '-'}`);
  }
  const count = t.rowCount;
  await t.close();
  return count;
}

