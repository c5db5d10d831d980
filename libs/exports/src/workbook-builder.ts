import { Injectable } from '@nestjs/common';
import ExcelJS from 'exceljs';
import { productVersion } from '@app/config';
import { ExportsRepository } from './exports.repository';
import type { SettlementDay } from './settlement-day';
import { writeSettlementDetailsSheet, SETTLEMENT_DETAILS_SHEET } from './sheets/settlement-details-sheet';
import { SUMMARY_SHEET, writeSummarySheet } from './sheets/summary-sheet';
import {
  BREAKS_SHEET,
  BUFFER_SHEET,
  SUBTRADERS_SHEET,
  WITHDRAWALS_SHEET,
  writeBreaksSheet,
  writeBufferMovementsSheet,
  writeSubtradersSheet,
  writeWithdrawalsSheet,
} from './sheets/table-sheets';
import { etDateTimeText } from './workbook-cells';
import type { FigureComparison } from './workbook-rows';

export interface BuiltWorkbook {
  rowCounts: Record<string, number>;
  /** The reconciliation runs the breaks and ledger bounds came from, one per reconciled cycle. */
  runIds: string[];
}

export interface WorkbookRequest {
  day: SettlementDay;
  filePath: string;
  madeBy: string;
  madeAt?: Date;
}

/** Streaming options shared with the benchmark's bare writer, so the two write the same kind of file. */
export const STREAMING_WRITER_OPTIONS = { useStyles: true, useSharedStrings: false } as const;

/**
 * Writes the daily reconciliation workbook with exceljs' streaming writer: each sheet is committed as
 * soon as it is written, and the settlement details stream from a database cursor, so memory stays
 * flat whatever the day's size.
 */
@Injectable()
export class WorkbookBuilder {
  constructor(private readonly repository: ExportsRepository) {}

  async build(request: WorkbookRequest): Promise<BuiltWorkbook> {
    const { day, filePath, madeBy } = request;
    const madeAt = request.madeAt ?? new Date();
    const cycles = await this.repository.cyclesOf(day);
    const runs = await this.repository.latestRunsFor(cycles.map((c) => c.executionTime));
    const scope = this.repository.scopeOf(cycles, runs);
    const [cycleTotals, subtraders, balanceAtStart, balanceAtEnd, buffer, breaks, withdrawalTotals, jobs, bufferMovements, withdrawals] = await Promise.all([
      this.repository.cycleTotals(scope),
      this.repository.subtraders(scope),
      this.repository.balanceAt(day.start),
      this.repository.balanceAt(new Date(Math.min(day.end.getTime(), madeAt.getTime()))),
      this.repository.bufferTotals(day),
      this.repository.breaks(day),
      this.repository.withdrawalTotals(day),
      this.repository.jobHealth(),
      this.repository.bufferMovements(day),
      this.repository.withdrawals(day),
    ]);

    const version = productVersion();
    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: filePath, ...STREAMING_WRITER_OPTIONS });
    Object.assign(workbook, {
      creator: 'Klear SCM back office',
      lastModifiedBy: madeBy,
      title: `Klear reconciliation ${day.date}`,
      subject: `Settlement day ${day.date} (America/New_York)`,
      description: `Made ${etDateTimeText(madeAt)} by ${madeBy} from reconciliation run(s) ${runs.map((r) => r.runId).join(', ') || 'none'}; product version ${version}`,
      keywords: `klear reconciliation ${day.date}`,
      category: 'reconciliation',
      version,
      created: madeAt,
      modified: madeAt,
    });

    const rowCounts: Record<string, number> = {};
    rowCounts[SUMMARY_SHEET] = await writeSummarySheet(workbook, {
      date: day.date,
      madeAt,
      madeBy,
      productVersion: version,
      cycles,
      runs,
      cycleTotals,
      dayTotals: sumComparisons(cycleTotals),
      balanceAtStart,
      balanceAtEnd,
      buffer,
      breakCounts: this.repository.countBreaks(breaks),
      withdrawals: withdrawalTotals,
      jobs,
    });
    rowCounts[SUBTRADERS_SHEET] = await writeSubtradersSheet(workbook, subtraders);
    rowCounts[BREAKS_SHEET] = await writeBreaksSheet(workbook, breaks, new Date(Math.min(day.end.getTime(), madeAt.getTime())));
    rowCounts[SETTLEMENT_DETAILS_SHEET] = await writeSettlementDetailsSheet(workbook, this.repository.settlementDetails(scope));
    rowCounts[BUFFER_SHEET] = await writeBufferMovementsSheet(workbook, bufferMovements);
    rowCounts[WITHDRAWALS_SHEET] = await writeWithdrawalsSheet(workbook, withdrawals);
    await workbook.commit();
    return { rowCounts, runIds: runs.map((r) => r.runId) };
  }
}

function sumComparisons(rows: FigureComparison[]): FigureComparison {
  const total: FigureComparison = {
    klearPnl: 0n, klearFees: 0n, klearTotal: 0n, klearMaintenanceMargin: 0n,
    internalPnl: 0n, internalFees: 0n, internalTotal: 0n, internalMaintenanceMargin: 0n,
  };
  for (const r of rows) for (const k of Object.keys(total) as Array<keyof FigureComparison>) total[k] += r[k];
  return total;
}
