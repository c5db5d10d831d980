import { Injectable } from '@nestjs/common';
import ExcelJS from 'exceljs';
import { productVersion } from '@app/config';
import { settlementDay, type SettlementDay } from './settlement-day';
import { writeSettlementDetailsSheet, SETTLEMENT_DETAILS_SHEET } from './sheets/settlement-details-sheet';
import { SUMMARY_SHEET, writeSummarySheet } from './sheets/summary-sheet';
import {
  BREAKS_SHEET,
  BUFFER_SHEET,
  FUNDING_SHEET,
  SUBTRADERS_SHEET,
  WITHDRAWALS_SHEET,
  writeBreaksSheet,
  writeBufferMovementsSheet,
  writeFundingSheet,
  writeSubtradersSheet,
  writeWithdrawalsSheet,
} from './sheets/table-sheets';
import { etDateTimeText } from './workbook-cells';
import { nextSettlementDate, withBreakCounts } from './workbook-day';
import { cycleScope, WorkbookReadRepository } from './workbook-read.repository';
import { type AuditAnchor, type FigureComparison, zeroComparison } from './workbook-rows';

export interface BuiltWorkbook {
  rowCounts: Record<string, number>;
  /** The reconciliation runs the breaks and ledger bounds came from, one per reconciled cycle. */
  runIds: string[];
  /** The audit chain's last row in the build's snapshot, printed on the Summary (and logged by the caller). */
  auditAnchor: AuditAnchor | null;
}

export interface WorkbookRequest {
  day: SettlementDay;
  filePath: string;
  madeBy: string;
  /** The build's instant (from the Clock): "made at", the ages of breaks, and whether the day had ended. */
  madeAt: Date;
}

/** Streaming options shared with the benchmark's bare writer, so the two write the same kind of file. */
export const STREAMING_WRITER_OPTIONS = { useStyles: true, useSharedStrings: false } as const;

/**
 * Writes the daily reconciliation workbook with exceljs' streaming writer: each sheet is committed as
 * soon as it is written, and the settlement details stream from a database cursor, so memory stays
 * flat whatever the day's size. Everything is read in one database snapshot (WorkbookReadRepository),
 * and every sheet takes its breaks from the same list: the day's meaning is in docs/daily-workbook.md.
 */
@Injectable()
export class WorkbookBuilder {
  constructor(private readonly read: WorkbookReadRepository) {}

  build(request: WorkbookRequest): Promise<BuiltWorkbook> {
    const { day, filePath, madeBy, madeAt } = request;
    return this.read.snapshot(async (r) => {
      const cycles = await r.cyclesOf(day);
      const runs = await r.latestRuns([...new Set(cycles.map((c) => c.executionTime.getTime()))].map((t) => new Date(t)));
      const scope = cycleScope(cycles, runs);
      const found = await r.foundBreaks(runs);
      const closed = await r.breaksClosedDuring(
        day,
        found.map((b) => b.breakId),
      );
      const breaks = [...found, ...closed];
      const withBreaks = [...new Set(found.map((b) => b.subtraderId).filter((s): s is string => s !== null))];
      const subtraders = withBreakCounts(await r.subtraders(scope, withBreaks), found);
      const cycleTotals = await r.cycleTotals(scope);
      const auditAnchor = await r.auditAnchor();

      const version = productVersion();
      const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: filePath, ...STREAMING_WRITER_OPTIONS });
      Object.assign(workbook, {
        creator: 'Klear SCM back office',
        lastModifiedBy: madeBy,
        title: `Klear reconciliation ${day.date}`,
        subject: `Settlement day ${day.date} (America/New_York)`,
        description: `Made ${etDateTimeText(madeAt)} by ${madeBy} from reconciliation run(s) ${runs.map((run) => run.runId).join(', ') || 'none'}; product version ${version}`,
        keywords: `klear reconciliation ${day.date}`,
        category: 'reconciliation',
        version,
        created: madeAt,
        modified: madeAt,
      });

      const rowCounts: Record<string, number> = {};
      rowCounts[SUMMARY_SHEET] = await writeSummarySheet(workbook, {
        day,
        madeAt,
        madeBy,
        productVersion: version,
        cycles,
        runs,
        cycleTotals,
        dayTotals: sumComparisons(cycleTotals),
        breaks,
        earlierOpen: await r.openBreaksBefore(day.start),
        bufferAtStart: await r.bufferAt(day.start),
        bufferAtEnd: await r.bufferAt(day.end),
        buffer: await r.bufferTotals(day),
        withdrawals: await r.withdrawalTotals(day),
        jobs: await r.jobHealth(),
        next: await r.nextDay(settlementDay(nextSettlementDate(day))),
        auditAnchor,
      });
      rowCounts[SUBTRADERS_SHEET] = await writeSubtradersSheet(workbook, subtraders);
      rowCounts[BREAKS_SHEET] = await writeBreaksSheet(workbook, breaks, madeAt);
      rowCounts[SETTLEMENT_DETAILS_SHEET] = await writeSettlementDetailsSheet(workbook, r.settlementDetails(scope));
      rowCounts[FUNDING_SHEET] = await writeFundingSheet(workbook, await r.funding(scope));
      rowCounts[BUFFER_SHEET] = await writeBufferMovementsSheet(workbook, await r.bufferMovements(day));
      rowCounts[WITHDRAWALS_SHEET] = await writeWithdrawalsSheet(workbook, await r.withdrawals(day));
      await workbook.commit();
      return { rowCounts, runIds: runs.map((run) => run.runId), auditAnchor };
    });
  }
}

function sumComparisons(rows: FigureComparison[]): FigureComparison {
  const total = zeroComparison();
  for (const r of rows) for (const k of Object.keys(total) as Array<keyof FigureComparison>) total[k] += r[k];
  return total;
}
