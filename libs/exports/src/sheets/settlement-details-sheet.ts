import type ExcelJS from 'exceljs';
import { moneyColumns, TableSheet, type SheetColumn } from '../sheet-layout';
import { centicentsCellFromDecimal, etDateTimeCell, textCell, usdCellFromDecimal } from '../workbook-cells';
import type { SettlementDetailRow } from '../workbook-rows';

export const SETTLEMENT_DETAILS_SHEET = 'Settlement details';
export const SETTLEMENT_DETAIL_COLUMNS: SheetColumn[] = [
  { header: 'Cycle (ET)', kind: 'datetime' },
  { header: 'Subtrader', kind: 'text', width: 20 },
  { header: 'Market', kind: 'text', width: 24 },
  { header: 'Klear detail id', kind: 'text', width: 24 },
  ...moneyColumns('Klear pnl'),
  ...moneyColumns('Klear fees'),
  ...moneyColumns('Klear total'),
  ...moneyColumns('Internal pnl'),
  ...moneyColumns('Internal fees'),
  ...moneyColumns('Internal total'),
  ...moneyColumns('Total difference', true),
  { header: 'Match', kind: 'text', width: 16 },
  { header: 'Asset class', kind: 'text', width: 14 },
];

/**
 * Writes batches as the cursor delivers them. The cycle's date cell is built once per cycle, and
 * amounts go from PostgreSQL's decimal text straight to cells. After each batch it waits for the zip
 * stream to take what was written: exceljs ignores back-pressure, and without the wait a fast
 * producer buffers the whole compressed-to-be sheet in memory.
 */
export async function writeSettlementDetailsSheet(
  workbook: ExcelJS.stream.xlsx.WorkbookWriter,
  batches: AsyncIterable<SettlementDetailRow[]>,
): Promise<number> {
  const t = TableSheet.open(workbook, SETTLEMENT_DETAILS_SHEET, SETTLEMENT_DETAIL_COLUMNS);
  let cycleKey = '';
  let cycleCell: Date | null = null;
  for await (const batch of batches) {
    for (const r of batch) {
      if (r.cycleEpochMs !== cycleKey) {
        cycleKey = r.cycleEpochMs;
        cycleCell = etDateTimeCell(new Date(Number(cycleKey)));
      }
      t.add([
        cycleCell,
        textCell(r.subtraderId),
        textCell(r.marketTicker),
        textCell(r.detailId),
        usdCellFromDecimal(r.klearPnl),
        centicentsCellFromDecimal(r.klearPnl),
        usdCellFromDecimal(r.klearFees),
        centicentsCellFromDecimal(r.klearFees),
        usdCellFromDecimal(r.klearTotal),
        centicentsCellFromDecimal(r.klearTotal),
        usdCellFromDecimal(r.internalPnl),
        centicentsCellFromDecimal(r.internalPnl),
        usdCellFromDecimal(r.internalFees),
        centicentsCellFromDecimal(r.internalFees),
        usdCellFromDecimal(r.internalTotal),
        centicentsCellFromDecimal(r.internalTotal),
        usdCellFromDecimal(r.totalDifference),
        centicentsCellFromDecimal(r.totalDifference),
        r.match,
        textCell(r.assetClass),
      ]);
    }
    await t.drain();
  }
  const count = t.rowCount;
  await t.close();
  return count;
}
