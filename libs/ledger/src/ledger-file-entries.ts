import type { EntryProblem, LedgerEntryInput } from './journal-entry-input';
import type { LedgerFileCell, LedgerFileRow } from './ledger-file-reader';
import { formulaInjection, LEDGER_ID_PATTERN } from './ledger-text';

/** Columns of the import format (docs/ledger-and-breaks.md, "CSV / XLSX import"), in any order. */
export const LEDGER_FILE_COLUMNS = [
  'external_id',
  'entry_type',
  'effective_at',
  'cycle',
  'subtrader_id',
  'business_reference',
  'description',
  'reverses_external_id',
  'account',
  'market_ticker',
  'amount_centicents',
  'asset_class',
] as const;
type Column = (typeof LEDGER_FILE_COLUMNS)[number];
export const REQUIRED_LEDGER_FILE_COLUMNS: readonly Column[] = [
  'external_id',
  'entry_type',
  'effective_at',
  'account',
  'amount_centicents',
];
const ENTRY_COLUMNS: readonly Column[] = [...LEDGER_FILE_COLUMNS.slice(0, 8), 'asset_class'];

export interface RejectedRow {
  line: number;
  external_id: string | null;
  code: string;
  reason: string;
}

/** An entry assembled from its rows: `lines[i]` is the line of posting i. */
export interface LedgerFileEntry {
  input: LedgerEntryInput;
  lines: number[];
}

interface Group {
  /** The entry columns of its first row, in ENTRY_COLUMNS order (an array: a file may hold 200,000 entries). */
  first: Array<string | null>;
  lines: number[];
  postings: LedgerEntryInput['postings'];
}

/**
 * Turns rows into entries (rows sharing an external_id form one entry), refusing bad cells,
 * formula injection, extra cells and entry columns that differ between rows of one entry.
 */
export class LedgerFileAssembler {
  private readonly groups = new Map<string, Group>();
  readonly rejected: RejectedRow[] = [];
  /** external_ids with at least one rejected row: the whole entry is rejected. */
  readonly brokenEntries = new Set<string>();
  rowCount = 0;

  private constructor(private readonly columns: Column[]) {}

  /** Reads the header row; throws a message naming unknown, repeated or missing columns. */
  static fromHeader(row: LedgerFileRow): LedgerFileAssembler {
    const names = row.cells.map((c) => (typeof c === 'string' ? c.trim() : c === null ? '' : '(refused cell)'));
    while (names.length > 0 && names[names.length - 1] === '') names.pop();
    const problems: string[] = [];
    const unknown = names.filter((n) => !(LEDGER_FILE_COLUMNS as readonly string[]).includes(n));
    if (unknown.length) problems.push(`unknown column(s): ${unknown.map((n) => JSON.stringify(n)).join(', ')}`);
    const repeated = names.filter((n, i) => names.indexOf(n) !== i);
    if (repeated.length) problems.push(`repeated column(s): ${[...new Set(repeated)].join(', ')}`);
    const missing = REQUIRED_LEDGER_FILE_COLUMNS.filter((c) => !names.includes(c));
    if (missing.length) problems.push(`missing required column(s): ${missing.join(', ')}`);
    if (problems.length)
      throw new Error(`header (line ${row.line}): ${problems.join('; ')}; expected columns ${LEDGER_FILE_COLUMNS.join(',')}`);
    return new LedgerFileAssembler(names as Column[]);
  }

  addRow(row: LedgerFileRow): void {
    if (row.cells.every((c) => c === null)) return;
    this.rowCount += 1;
    const values = new Map<Column, string | null>();
    const problems: Array<{ code: string; reason: string }> = [];
    row.cells.forEach((cell, i) => {
      const column = this.columns[i];
      if (column === undefined) {
        if (cell !== null)
          problems.push({
            code: 'INVALID_ROW',
            reason: `has a value in column ${i + 1}, beyond the ${this.columns.length} header columns`,
          });
        return;
      }
      const text = cellText(column, cell, problems);
      values.set(column, text);
    });
    const externalId = values.get('external_id') ?? null;
    const idUsable = externalId !== null && LEDGER_ID_PATTERN.test(externalId);
    if (externalId !== null && !idUsable && !problems.some((p) => p.reason.startsWith('external_id'))) {
      problems.push({
        code: 'INVALID_VALUE',
        reason: 'external_id: must be 1-128 characters (letters, digits, . _ : / -) starting with a letter or digit',
      });
    }
    if (externalId === null && !problems.some((p) => p.reason.startsWith('external_id'))) {
      problems.push({ code: 'MISSING_FIELD', reason: 'external_id: is required' });
    }
    if (!idUsable) {
      for (const p of problems) this.rejected.push({ line: row.line, external_id: null, ...p });
      return;
    }
    const id = externalId as string;
    let group = this.groups.get(id);
    if (!group) {
      group = { first: ENTRY_COLUMNS.map((c) => values.get(c) ?? null), lines: [], postings: [] };
      this.groups.set(id, group);
    } else {
      for (const [i, column] of ENTRY_COLUMNS.entries()) {
        if ((values.get(column) ?? null) !== group.first[i]) {
          problems.push({
            code: 'INCONSISTENT_ROWS',
            reason: `${column}: differs from line ${group.lines[0]} of the same entry (entry columns must be equal on every row)`,
          });
        }
      }
    }
    group.lines.push(row.line);
    group.postings.push({
      account: values.get('account') ?? '',
      market_ticker: values.get('market_ticker') ?? null,
      amount_centicents: values.get('amount_centicents') as string,
    });
    if (problems.length > 0) {
      this.brokenEntries.add(id);
      for (const p of problems) this.rejected.push({ line: row.line, external_id: id, ...p });
    }
  }

  /** Entries whose rows were all readable (others are in `brokenEntries`). */
  *entries(): Generator<{ externalId: string; entry: LedgerFileEntry | null; lines: number[] }> {
    for (const [externalId, g] of this.groups) {
      if (this.brokenEntries.has(externalId)) {
        yield { externalId, entry: null, lines: g.lines };
        continue;
      }
      const f = (c: Column) => g.first[ENTRY_COLUMNS.indexOf(c)] ?? null;
      const input: LedgerEntryInput = {
        external_id: externalId,
        entry_type: f('entry_type') ?? '',
        effective_at: f('effective_at') ?? '',
        cycle: f('cycle'),
        subtrader_id: f('subtrader_id'),
        asset_class: f('asset_class'),
        business_reference: f('business_reference'),
        description: f('description'),
        reverses_external_id: f('reverses_external_id'),
        postings: g.postings,
      };
      yield { externalId, entry: { input, lines: g.lines }, lines: g.lines };
    }
  }
}

function cellText(column: Column, cell: LedgerFileCell, problems: Array<{ code: string; reason: string }>): string | null {
  if (cell === null) return null;
  if (typeof cell !== 'string') {
    problems.push({ code: cell.code, reason: `${column}: ${cell.refused}` });
    return null;
  }
  const injection = formulaInjection(cell, column === 'amount_centicents');
  if (injection) {
    problems.push({ code: 'FORMULA_INJECTION', reason: `${column}: ${injection}` });
    return null;
  }
  return cell;
}

/** Where an entry-level or posting-level problem is reported: the posting's line, else the entry's first. */
export function problemLine(problem: EntryProblem, lines: number[]): number {
  return problem.posting !== undefined ? (lines[problem.posting] ?? lines[0]) : lines[0];
}
