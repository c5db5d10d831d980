import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import ExcelJS from 'exceljs';
import { LedgerImportUnsupported } from './ledger-errors';

/** A cell as read from a file: text, empty, or refused with the reason (formula, date, ...). */
export type LedgerFileCell = string | null | { refused: string; code: 'FORMULA_INJECTION' | 'INVALID_VALUE' };

/** One row of the file with its line number (the header is line 1). */
export interface LedgerFileRow {
  line: number;
  cells: LedgerFileCell[];
}

export type LedgerFileFormat = 'csv' | 'xlsx';

/** A file that cannot be read as a whole (broken quoting, not a workbook): nothing of it is imported. */
export class LedgerFileUnreadable extends Error {
  constructor(
    readonly line: number | null,
    message: string,
  ) {
    super(message);
  }
}

/** SHA-256 and format of a stored upload, read once as a stream (XLSX is a zip: "PK\x03\x04"). */
export async function fingerprintLedgerFile(path: string): Promise<{ sha256: string; format: LedgerFileFormat; sizeBytes: number }> {
  const hash = createHash('sha256');
  let head: Buffer | null = null;
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    const buf = chunk as Buffer;
    if (head === null) head = buf.subarray(0, 4096);
    hash.update(buf);
    size += buf.length;
  }
  if (head === null || size === 0) throw new LedgerImportUnsupported('the file is empty');
  if (head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) return { sha256: hash.digest('hex'), format: 'xlsx', sizeBytes: size };
  if (head.includes(0)) throw new LedgerImportUnsupported('the file is neither CSV text nor an XLSX workbook');
  return { sha256: hash.digest('hex'), format: 'csv', sizeBytes: size };
}

export function readLedgerFile(path: string, format: LedgerFileFormat): AsyncGenerator<LedgerFileRow> {
  return format === 'csv' ? readCsv(path) : readXlsx(path);
}

async function* readCsv(path: string): AsyncGenerator<LedgerFileRow> {
  const parser = createReadStream(path).pipe(parse({ bom: true, info: true, relax_column_count: true, skip_empty_lines: true }));
  let lastLine = 0;
  let lastEmpty = 0;
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number; empty_lines: number } }>) {
      // csv-parse reports the line where a record ends; a quoted cell may span lines, so count from the previous record.
      const line = lastLine + 1 + (item.info.empty_lines - lastEmpty);
      lastLine = item.info.lines;
      lastEmpty = item.info.empty_lines;
      yield { line, cells: item.record.map((c) => (c === '' ? null : c)) };
    }
  } catch (error) {
    const e = error as { code?: string; lines?: number; message?: string };
    if (typeof e.code === 'string' && e.code.startsWith('CSV_')) throw new LedgerFileUnreadable(e.lines ?? null, `not readable as CSV: ${e.message}`);
    throw error;
  }
}

async function* readXlsx(path: string): AsyncGenerator<LedgerFileRow> {
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(path, {
    entries: 'emit',
    sharedStrings: 'cache',
    worksheets: 'emit',
    hyperlinks: 'ignore',
    styles: 'ignore',
  });
  try {
    for await (const sheet of reader) {
      for await (const row of sheet) {
        const values = (row.values as unknown[]).slice(1);
        yield { line: row.number, cells: Array.from({ length: values.length }, (_, i) => xlsxCell(values[i])) };
      }
      return; // the first worksheet holds the entries
    }
  } catch (error) {
    if (error instanceof LedgerFileUnreadable) throw error;
    throw new LedgerFileUnreadable(null, `not readable as an XLSX workbook: ${(error as Error).message}`);
  }
}

/** Cell values as text; anything a spreadsheet computes or reinterprets is refused. */
function xlsxCell(value: unknown): LedgerFileCell {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') {
    // Doubles are exact only up to 2^53: larger amounts must be text cells.
    if (Number.isSafeInteger(value)) return String(value);
    return { refused: `the number ${value} is not a whole number within +/-2^53; write it as a text cell`, code: 'INVALID_VALUE' };
  }
  if (value instanceof Date) return { refused: 'date cells carry no time zone; write an RFC 3339 text like 2026-11-03T21:00:00Z', code: 'INVALID_VALUE' };
  if (typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if ('formula' in v || 'sharedFormula' in v) return { refused: 'formula cells are refused (possible formula injection)', code: 'FORMULA_INJECTION' };
    if (Array.isArray(v.richText)) return (v.richText as Array<{ text: string }>).map((t) => t.text).join('') || null;
    if ('error' in v) return { refused: `the cell holds the spreadsheet error ${String(v.error)}`, code: 'INVALID_VALUE' };
    if (typeof v.text === 'string') return v.text;
  }
  return { refused: `a ${typeof value} cell is not accepted; write text`, code: 'INVALID_VALUE' };
}
