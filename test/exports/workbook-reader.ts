import ExcelJS from 'exceljs';

export type SheetRecord = Record<string, ExcelJS.CellValue> & { __row: ExcelJS.Row };

/** The daily workbook's sheets, in order (docs/daily-workbook.md), as a test expects to read them back. */
export const DAILY_WORKBOOK_SHEETS = [
  'Summary',
  'Subtraders',
  'Breaks',
  'Settlement details',
  'Funding',
  'Buffer movements',
  'Withdrawals',
];

/** Reads a workbook back with exceljs' (non-streaming) reader, as ops' spreadsheet would. */
export async function readWorkbook(path: string): Promise<ExcelJS.Workbook> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.readFile(path);
  return workbook;
}

/** A table sheet as records keyed by the header row's text. */
export function records(workbook: ExcelJS.Workbook, sheetName: string): SheetRecord[] {
  const sheet = workbook.getWorksheet(sheetName);
  if (!sheet) throw new Error(`no sheet ${sheetName}`);
  const headers = (sheet.getRow(1).values as ExcelJS.CellValue[]).slice(1).map(String);
  const out: SheetRecord[] = [];
  sheet.eachRow((row, n) => {
    if (n === 1) return;
    const record = { __row: row } as SheetRecord;
    headers.forEach((h, i) => (record[h] = row.getCell(i + 1).value ?? null));
    out.push(record);
  });
  return out;
}

/** An exact centicents column back to bigint (an integer cell or, beyond Excel's exact range, text). */
export function centicents(value: ExcelJS.CellValue): bigint | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`centicents cell ${value} is not an exact integer`);
    return BigInt(value);
  }
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  throw new Error(`centicents cell ${String(value)} is neither an integer nor digits`);
}

/** The 1-based column of a header of a table sheet. */
export function columnOf(workbook: ExcelJS.Workbook, sheetName: string, header: string): number {
  const headers = (workbook.getWorksheet(sheetName)!.getRow(1).values as ExcelJS.CellValue[]).slice(1).map(String);
  const index = headers.indexOf(header);
  if (index < 0) throw new Error(`no column ${header} on ${sheetName}`);
  return index + 1;
}
