import type { Readable } from 'node:stream';
import { SaxesParser, type SaxesTagPlain } from 'saxes';
import yauzl from 'yauzl';

/**
 * A streaming reader of the first worksheet of an XLSX file, made for hostile files: the zip's
 * central directory is read first (yauzl, random access, entry sizes validated against what
 * inflates), only the parts needed are inflated, every inflated byte counts against
 * `maxUncompressedBytes` and reading stops the moment it is passed, the sheet is parsed as a SAX
 * stream one row at a time, and shared strings are capped in number. Memory therefore stays
 * bounded by the limits, whatever the file (a 1 MB zip bomb of 281 MB of XML included).
 */

export interface XlsxLimits {
  maxUncompressedBytes: number;
  /** Shared strings kept at most (a sheet cannot use more than rows x columns distinct strings). */
  maxSharedStrings: number;
}

/** A raw cell: text, a number as written, a formula, a date, a boolean, an error, or empty. */
export type XlsxCell =
  | { kind: 'text'; text: string }
  | { kind: 'number'; text: string; dateFormatted: boolean }
  | { kind: 'formula' }
  | { kind: 'date' }
  | { kind: 'boolean' }
  | { kind: 'error'; text: string }
  | null;

export interface XlsxRow {
  /** 1-based row number as the sheet says (or counted when it does not say). */
  number: number;
  cells: XlsxCell[];
}

/** The file is over a limit: `limit` names which. */
export class XlsxLimitExceeded extends Error {
  constructor(
    readonly limit: 'uncompressed_bytes' | 'shared_strings',
    message: string,
  ) {
    super(message);
  }
}

/** Not a readable workbook (bad zip, missing parts, malformed XML). */
export class XlsxUnreadable extends Error {}

// Built-in number formats that show a date or a time (ECMA-376 18.8.30).
const BUILTIN_DATE_FORMATS = new Set([14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 30, 36, 45, 46, 47, 50, 57]);

class InflateBudget {
  used = 0;
  constructor(private readonly max: number) {}

  spend(bytes: number): void {
    this.used += bytes;
    if (this.used > this.max) throw this.exceeded();
  }

  /** Refuses a part before inflating it when its declared size alone would pass the limit (yauzl holds it to that size). */
  precheck(entry: yauzl.Entry): void {
    if (this.used + entry.uncompressedSize > this.max) throw this.exceeded();
  }

  private exceeded(): XlsxLimitExceeded {
    return new XlsxLimitExceeded(
      'uncompressed_bytes',
      `the workbook unpacks to more than ${this.max} bytes (LEDGER_IMPORT_MAX_UNCOMPRESSED_BYTES)`,
    );
  }
}

export async function* readXlsxRows(path: string, limits: XlsxLimits): AsyncGenerator<XlsxRow> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(path, {
      lazyEntries: true,
      validateEntrySizes: true,
      autoClose: false,
      strictFileNames: false,
      decodeStrings: true,
    });
  } catch (error) {
    throw new XlsxUnreadable(`not a zip archive: ${(error as Error).message}`);
  }
  try {
    const entries = await listEntries(zip);
    const budget = new InflateBudget(limits.maxUncompressedBytes);
    const sheetPath = await firstSheetPath(zip, entries, budget);
    const dateStyles = entries.has('xl/styles.xml') ? await readDateStyles(zip, entries.get('xl/styles.xml')!, budget) : [];
    const shared = entries.has('xl/sharedStrings.xml')
      ? await readSharedStrings(zip, entries.get('xl/sharedStrings.xml')!, budget, limits.maxSharedStrings)
      : [];
    const sheet = entries.get(sheetPath);
    if (!sheet) throw new XlsxUnreadable(`the workbook names ${sheetPath}, which the archive does not hold`);
    yield* readSheet(zip, sheet, budget, shared, dateStyles);
  } finally {
    zip.close();
  }
}

async function listEntries(zip: yauzl.ZipFile): Promise<Map<string, yauzl.Entry>> {
  const entries = new Map<string, yauzl.Entry>();
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      if (entries.size > 10_000) return reject(new XlsxUnreadable('the archive holds more than 10,000 entries'));
      entries.set(entry.fileName.replace(/^\/+/, ''), entry);
      zip.readEntry();
    });
    zip.once('end', () => resolve());
    zip.once('error', (error: Error) => reject(new XlsxUnreadable(`not a readable zip archive: ${error.message}`)));
    zip.readEntry();
  });
  return entries;
}

/** Streams one part through the SAX parser, counting inflated bytes; stops at once over budget. */
async function parsePart(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  budget: InflateBudget,
  onParser: (parser: SaxesParser) => void,
  onChunk?: () => void,
): Promise<void> {
  budget.precheck(entry);
  let stream: Readable;
  try {
    stream = await zip.openReadStreamPromise(entry);
  } catch (error) {
    throw new XlsxUnreadable(`part ${entry.fileName} cannot be read: ${(error as Error).message}`);
  }
  const parser = new SaxesParser({ xmlns: false, position: false });
  onParser(parser);
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      budget.spend(buf.length);
      parser.write(buf.toString('utf8'));
      onChunk?.();
    }
    parser.close();
  } catch (error) {
    stream.destroy();
    if (error instanceof XlsxLimitExceeded || error instanceof XlsxUnreadable) throw error;
    throw new XlsxUnreadable(`part ${entry.fileName} is not readable: ${(error as Error).message}`);
  }
}

async function firstSheetPath(zip: yauzl.ZipFile, entries: Map<string, yauzl.Entry>, budget: InflateBudget): Promise<string> {
  const workbook = entries.get('xl/workbook.xml');
  if (!workbook) throw new XlsxUnreadable('the archive has no xl/workbook.xml: not an XLSX workbook');
  let firstSheetRel: string | undefined;
  await parsePart(zip, workbook, budget, (p) =>
    p.on('opentag', (tag) => {
      if (firstSheetRel === undefined && localName(tag.name) === 'sheet') firstSheetRel = attr(tag, 'r:id') ?? attrEndingWith(tag, ':id');
    }),
  );
  if (!firstSheetRel) throw new XlsxUnreadable('the workbook lists no worksheet');
  const rels = entries.get('xl/_rels/workbook.xml.rels');
  let target: string | undefined;
  if (rels) {
    await parsePart(zip, rels, budget, (p) =>
      p.on('opentag', (tag) => {
        if (localName(tag.name) === 'Relationship' && attr(tag, 'Id') === firstSheetRel) target = attr(tag, 'Target');
      }),
    );
  }
  if (!target) return 'xl/worksheets/sheet1.xml';
  return target.startsWith('/') ? target.slice(1) : `xl/${target.replace(/^\.\//, '')}`;
}

/** For each cell style index (cellXfs), whether its number format shows a date or time. */
async function readDateStyles(zip: yauzl.ZipFile, entry: yauzl.Entry, budget: InflateBudget): Promise<boolean[]> {
  const customDate = new Map<number, boolean>();
  const styles: boolean[] = [];
  let inCellXfs = false;
  await parsePart(zip, entry, budget, (p) => {
    p.on('opentag', (tag) => {
      const name = localName(tag.name);
      if (name === 'numFmt') {
        const code = (attr(tag, 'formatCode') ?? '').replace(/"[^"]*"|\[[^\]]*\]|\\./g, '');
        customDate.set(Number(attr(tag, 'numFmtId')), /[dmyhs]/i.test(code));
      } else if (name === 'cellXfs') inCellXfs = true;
      else if (name === 'xf' && inCellXfs) {
        if (styles.length >= 65_536) throw new XlsxUnreadable('the workbook declares more than 65,536 cell styles');
        const id = Number(attr(tag, 'numFmtId') ?? 0);
        styles.push(customDate.get(id) ?? BUILTIN_DATE_FORMATS.has(id));
      }
    });
    p.on('closetag', (tag) => {
      if (localName(tag.name) === 'cellXfs') inCellXfs = false;
    });
  });
  return styles;
}

async function readSharedStrings(zip: yauzl.ZipFile, entry: yauzl.Entry, budget: InflateBudget, max: number): Promise<string[]> {
  const strings: string[] = [];
  let current: string[] | null = null;
  let inText = false;
  let inPhonetic = false;
  await parsePart(zip, entry, budget, (p) => {
    p.on('opentag', (tag) => {
      const name = localName(tag.name);
      if (name === 'si') {
        if (strings.length >= max)
          throw new XlsxLimitExceeded(
            'shared_strings',
            `the workbook holds more than ${max} shared strings (LEDGER_IMPORT_MAX_ROWS x columns)`,
          );
        current = [];
      } else if (name === 'rPh') inPhonetic = true;
      else if (name === 't' && !inPhonetic) inText = true;
    });
    p.on('text', (text) => {
      if (inText && current) current.push(text);
    });
    p.on('closetag', (tag) => {
      const name = localName(tag.name);
      if (name === 't') inText = false;
      else if (name === 'rPh') inPhonetic = false;
      else if (name === 'si' && current) {
        strings.push(current.join(''));
        current = null;
      }
    });
  });
  return strings;
}

async function* readSheet(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  budget: InflateBudget,
  shared: string[],
  dateStyles: boolean[],
): AsyncGenerator<XlsxRow> {
  const ready: XlsxRow[] = [];
  let row: XlsxRow | null = null;
  let lastRow = 0;
  let cell: { column: number; type: string; style: number; value: string[]; formula: boolean; inline: string[] } | null = null;
  let textTarget: 'value' | 'inline' | null = null;

  const finishCell = () => {
    if (!row || !cell) return;
    row.cells[cell.column] = cellOf(cell, shared, dateStyles);
    for (let i = 0; i < cell.column; i++) if (row.cells[i] === undefined) row.cells[i] = null;
    cell = null;
  };

  // The SAX parser pushes rows into `ready`; the generator hands them out between chunks, so at
  // most one chunk's rows (64 KiB of XML) wait in memory.
  budget.precheck(entry);
  const chunks = (async function* () {
    let stream: Readable;
    try {
      stream = await zip.openReadStreamPromise(entry);
    } catch (error) {
      throw new XlsxUnreadable(`the worksheet cannot be read: ${(error as Error).message}`);
    }
    try {
      for await (const chunk of stream) yield chunk as Buffer;
    } finally {
      stream.destroy();
    }
  })();

  const parser = new SaxesParser({ xmlns: false, position: false });
  parser.on('opentag', (tag) => {
    const name = localName(tag.name);
    if (name === 'row') {
      const n = Number(attr(tag, 'r') ?? lastRow + 1);
      if (!Number.isSafeInteger(n) || n <= lastRow) throw new XlsxUnreadable(`row numbers must increase (row ${attr(tag, 'r')})`);
      lastRow = n;
      row = { number: n, cells: [] };
    } else if (name === 'c' && row) {
      const ref = attr(tag, 'r');
      const column = ref ? columnIndex(ref) : row.cells.length;
      if (column < 0 || column > 16_383) throw new XlsxUnreadable(`bad cell reference ${ref}`);
      cell = { column, type: attr(tag, 't') ?? 'n', style: Number(attr(tag, 's') ?? 0), value: [], formula: false, inline: [] };
    } else if (cell) {
      if (name === 'f') cell.formula = true;
      else if (name === 'v') textTarget = 'value';
      else if (name === 't') textTarget = 'inline';
      else if (name === 'rPh') textTarget = null;
    }
  });
  parser.on('text', (text) => {
    if (!cell || textTarget === null) return;
    (textTarget === 'value' ? cell.value : cell.inline).push(text);
  });
  parser.on('closetag', (tag) => {
    const name = localName(tag.name);
    if (name === 'v' || name === 't') textTarget = null;
    else if (name === 'c') finishCell();
    else if (name === 'row' && row) {
      ready.push(row);
      row = null;
    }
  });

  try {
    for await (const chunk of chunks) {
      budget.spend(chunk.length);
      parser.write(chunk.toString('utf8'));
      while (ready.length > 0) yield ready.shift()!;
    }
    parser.close();
    while (ready.length > 0) yield ready.shift()!;
  } catch (error) {
    await chunks.return(undefined);
    if (error instanceof XlsxLimitExceeded || error instanceof XlsxUnreadable) throw error;
    throw new XlsxUnreadable(`the worksheet is not readable: ${(error as Error).message}`);
  }
}

function cellOf(
  cell: { type: string; style: number; value: string[]; formula: boolean; inline: string[] },
  shared: string[],
  dateStyles: boolean[],
): XlsxCell {
  if (cell.formula) return { kind: 'formula' };
  const value = cell.value.join('');
  switch (cell.type) {
    case 's': {
      const index = Number(value);
      if (!Number.isInteger(index) || index < 0 || index >= shared.length)
        throw new XlsxUnreadable(`a cell refers to shared string ${value}, which does not exist`);
      return { kind: 'text', text: shared[index] };
    }
    case 'inlineStr':
      return { kind: 'text', text: cell.inline.join('') };
    case 'str':
      return { kind: 'text', text: value };
    case 'b':
      return { kind: 'boolean' };
    case 'e':
      return { kind: 'error', text: value };
    case 'd':
      return { kind: 'date' };
    default:
      if (value === '') return null;
      return { kind: 'number', text: value, dateFormatted: dateStyles[cell.style] === true };
  }
}

function columnIndex(ref: string): number {
  const letters = /^([A-Z]{1,3})\d*$/i.exec(ref)?.[1];
  if (!letters) return -1;
  let n = 0;
  for (const ch of letters.toUpperCase()) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n - 1;
}

function localName(name: string): string {
  const i = name.indexOf(':');
  return i === -1 ? name : name.slice(i + 1);
}

function attr(tag: SaxesTagPlain, name: string): string | undefined {
  return tag.attributes[name];
}

function attrEndingWith(tag: SaxesTagPlain, suffix: string): string | undefined {
  for (const [k, v] of Object.entries(tag.attributes)) if (k.endsWith(suffix)) return v;
  return undefined;
}
