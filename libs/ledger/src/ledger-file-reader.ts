import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { LedgerImportLimitExceeded, LedgerImportUnsupported } from './ledger-errors';
import { readXlsxRows, type XlsxCell, XlsxLimitExceeded, XlsxUnreadable } from './xlsx-row-reader';

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
  if (head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04])))
    return { sha256: hash.digest('hex'), format: 'xlsx', sizeBytes: size };
  if (head.includes(0)) throw new LedgerImportUnsupported('the file is neither CSV text nor an XLSX workbook');
  return { sha256: hash.digest('hex'), format: 'csv', sizeBytes: size };
}

/** What a file may hold at most (LEDGER_IMPORT_MAX_ROWS, LEDGER_IMPORT_MAX_UNCOMPRESSED_BYTES). */
export interface LedgerFileLimits {
  maxRows: number;
  maxUncompressedBytes: number;
}

/** Columns of a row kept at most (the format has 11; more is refused row by row, not stored). */
const MAX_CELLS_PER_ROW = 64;
/** A CSV record larger than this is refused as unreadable (a 100 MB one-cell file stays out of memory). */
const MAX_CSV_RECORD_BYTES = 1024 * 1024;

/**
 * The rows of a stored upload, one at a time. Reading stops as soon as the file passes a limit
 * (LedgerImportLimitExceeded: 413 naming the limit), so memory is bounded by the limits.
 */
export async function* readLedgerFile(path: string, format: LedgerFileFormat, limits: LedgerFileLimits): AsyncGenerator<LedgerFileRow> {
  let rows = 0;
  const source =
    format === 'csv'
      ? readCsv(path)
      : readXlsx(path, { maxUncompressedBytes: limits.maxUncompressedBytes, maxSharedStrings: (limits.maxRows + 1) * MAX_CELLS_PER_ROW });
  for await (const row of source) {
    // The header does not count.
    if (rows++ > limits.maxRows) throw new LedgerImportLimitExceeded('rows', limits.maxRows);
    yield row.cells.length > MAX_CELLS_PER_ROW
      ? { line: row.line, cells: [...row.cells.slice(0, MAX_CELLS_PER_ROW), 'beyond the last column'] }
      : row;
  }
}

async function* readCsv(path: string): AsyncGenerator<LedgerFileRow> {
  const parser = createReadStream(path).pipe(
    parse({ bom: true, info: true, relax_column_count: true, skip_empty_lines: true, max_record_size: MAX_CSV_RECORD_BYTES }),
  );
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
    if (typeof e.code === 'string' && e.code.startsWith('CSV_'))
      throw new LedgerFileUnreadable(e.lines ?? null, `not readable as CSV: ${e.message}`);
    throw error;
  }
}

async function* readXlsx(path: string, limits: { maxUncompressedBytes: number; maxSharedStrings: number }): AsyncGenerator<LedgerFileRow> {
  try {
    for await (const row of readXlsxRows(path, limits)) {
      yield { line: row.number, cells: Array.from({ length: row.cells.length }, (_, i) => xlsxCell(row.cells[i] ?? null)) };
    }
  } catch (error) {
    if (error instanceof XlsxLimitExceeded) throw new LedgerImportLimitExceeded('uncompressed_bytes', limits.maxUncompressedBytes);
    if (error instanceof XlsxUnreadable) throw new LedgerFileUnreadable(null, `not readable as an XLSX workbook: ${error.message}`);
    throw error;
  }
}

/** Cell values as text; anything a spreadsheet computes or reinterprets is refused. */
function xlsxCell(cell: XlsxCell): LedgerFileCell {
  if (cell === null) return null;
  switch (cell.kind) {
    case 'text':
      return cell.text === '' ? null : cell.text;
    case 'formula':
      return { refused: 'formula cells are refused (possible formula injection)', code: 'FORMULA_INJECTION' };
    case 'date':
      return { refused: 'date cells carry no time zone; write an RFC 3339 text like 2026-11-03T21:00:00Z', code: 'INVALID_VALUE' };
    case 'boolean':
      return { refused: 'a boolean cell is not accepted; write text', code: 'INVALID_VALUE' };
    case 'error':
      return { refused: `the cell holds the spreadsheet error ${cell.text}`, code: 'INVALID_VALUE' };
    case 'number': {
      if (cell.dateFormatted)
        return { refused: 'date cells carry no time zone; write an RFC 3339 text like 2026-11-03T21:00:00Z', code: 'INVALID_VALUE' };
      const value = Number(cell.text);
      // Doubles are exact only up to 2^53: larger amounts must be text cells.
      if (Number.isSafeInteger(value)) return String(value);
      return {
        refused: `the number ${Number.isFinite(value) ? value : cell.text} is not a whole number within +/-2^53; write it as a text cell`,
        code: 'INVALID_VALUE',
      };
    }
  }
}
