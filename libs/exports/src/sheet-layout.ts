import type ExcelJS from 'exceljs';
import { centicentsCell, COUNT_FORMAT, ET_DATETIME_FORMAT, USD_FORMAT, usdCell } from './workbook-cells';

export type ColumnKind = 'text' | 'usd' | 'centicents' | 'datetime' | 'count';

export interface SheetColumn {
  header: string;
  kind: ColumnKind;
  width?: number;
  /** Differences: highlighted by conditional formatting when not zero. */
  difference?: boolean;
}

const DEFAULT_WIDTH: Record<ColumnKind, number> = { text: 18, usd: 20, centicents: 22, datetime: 21, count: 10 };
const FORMAT: Partial<Record<ColumnKind, string>> = { usd: USD_FORMAT, centicents: '0', datetime: ET_DATETIME_FORMAT, count: COUNT_FORMAT };
const HEADER_FILL: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFD9E1F2' } };
const DIFFERENCE_FILL: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', bgColor: { argb: 'FFFFC7CE' } };

/** Money as the pair every detail sheet carries: USD for reading, exact centicents for checking. */
export const moneyColumns = (name: string, difference = false): SheetColumn[] => [
  { header: `${name} (USD)`, kind: 'usd', difference },
  { header: `${name} (centicents)`, kind: 'centicents', difference },
];

export type CellValue = string | number | Date | null;

/**
 * A column of a table sheet together with how a row fills it. A sheet is a list of these, so a new
 * column (an asset class, a group) is one more entry, and its header, format and value stay together.
 */
export interface Column<Row> extends SheetColumn {
  value: (row: Row) => CellValue;
}

/** The USD / exact centicents pair of one money figure of a row. */
export function moneyPair<Row>(name: string, get: (row: Row) => bigint | null, difference = false): Column<Row>[] {
  const [usd, centicents] = moneyColumns(name, difference);
  return [
    { ...usd, value: (r) => usdCell(get(r)) },
    { ...centicents, value: (r) => centicentsCell(get(r)) },
  ];
}

/** Writes a whole table sheet from its column specs; returns the number of rows written. */
export async function writeTable<Row>(
  workbook: ExcelJS.stream.xlsx.WorkbookWriter,
  name: string,
  columns: Column<Row>[],
  rows: Iterable<Row>,
): Promise<number> {
  const table = TableSheet.open(workbook, name, columns);
  for (const row of rows) table.add(columns.map((c) => c.value(row)));
  const count = table.rowCount;
  await table.close();
  return count;
}

/** A1-style column letters of a 1-based index. */
export function columnLetter(index: number): string {
  let n = index;
  let s = '';
  while (n > 0) {
    const r = (n - 1) % 26;
    s = String.fromCharCode(65 + r) + s;
    n = Math.floor((n - 1) / 26);
  }
  return s;
}

/**
 * A table sheet of the streaming workbook: frozen, filterable header row; widths and number formats
 * per column; `close()` adds the conditional formatting of difference columns over the rows written
 * and commits the sheet (its XML is flushed and its rows freed).
 */
export class TableSheet {
  private rows = 0;

  constructor(
    readonly sheet: ExcelJS.Worksheet,
    private readonly columns: SheetColumn[],
    private readonly headerRow = 1,
  ) {}

  static open(workbook: ExcelJS.stream.xlsx.WorkbookWriter, name: string, columns: SheetColumn[]): TableSheet {
    const last = columnLetter(columns.length);
    const sheet = workbook.addWorksheet(name, {
      // The streaming writer cannot take views after creation: frozen header here.
      views: [{ state: 'frozen', ySplit: 1, xSplit: 0 }],
      autoFilter: `A1:${last}1`,
    } as Partial<ExcelJS.AddWorksheetOptions>);
    sheet.columns = columns.map((c) => ({
      width: c.width ?? DEFAULT_WIDTH[c.kind],
      style: FORMAT[c.kind] ? { numFmt: FORMAT[c.kind] } : {},
    }));
    const table = new TableSheet(sheet, columns);
    table.header();
    return table;
  }

  private header(): void {
    const row = this.sheet.addRow(this.columns.map((c) => c.header));
    row.font = { bold: true };
    row.eachCell((cell) => {
      cell.fill = HEADER_FILL;
      cell.numFmt = '@';
    });
    row.commit();
  }

  /** Values in column order; strings are always written as string cells (see textCell). */
  add(values: CellValue[]): void {
    this.sheet.addRow(values).commit();
    this.rows++;
  }

  /**
   * Waits while the zip's compressor holds more than `maxBufferedBytes` of this sheet's XML: the
   * streaming writer does not apply back-pressure itself (its sheet stream writes to the compressor
   * without waiting), so a long sheet would otherwise pile up in memory.
   */
  async drain(maxBufferedBytes = 4 * 1024 * 1024): Promise<void> {
    // exceljs pipes the sheet into archiver through a readable-stream PassThrough (no writableLength getter).
    type Buffered = { writableLength?: number; _writableState?: { length: number } };
    const target = (this.sheet as unknown as { stream?: { pipes?: Buffered[] } }).stream?.pipes?.[0];
    const buffered = () => target?.writableLength ?? target?._writableState?.length ?? 0;
    // Yield at least once: archiver starts reading an entry, and zlib hands back output, on later ticks.
    do await new Promise((resolve) => setImmediate(resolve));
    while (buffered() > maxBufferedBytes);
  }

  get rowCount(): number {
    return this.rows;
  }

  async close(): Promise<void> {
    if (this.rows > 0) {
      const first = this.headerRow + 1;
      const last = this.headerRow + this.rows;
      this.columns.forEach((c, i) => {
        if (!c.difference) return;
        const col = columnLetter(i + 1);
        // Built from cell references only, never from data. Text (an amount beyond Excel's exact range) <> 0 is TRUE too.
        this.sheet.addConditionalFormatting({
          ref: `${col}${first}:${col}${last}`,
          rules: [
            {
              type: 'expression',
              priority: 1,
              formulae: [`AND(${col}${first}<>"",${col}${first}<>0)`],
              style: { fill: DIFFERENCE_FILL, font: { bold: true } },
            },
          ],
        });
      });
    }
    // exceljs's streaming worksheet commits synchronously.
    this.sheet.commit();
  }
}
