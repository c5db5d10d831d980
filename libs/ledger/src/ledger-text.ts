/**
 * Text rules shared by the JSON API and file imports, so one entry means the same thing (and
 * hashes the same) whichever way it arrives.
 */

/** external_id, reverses_external_id, market_ticker: 1-128 chars, starting with a letter or digit. */
export const LEDGER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
/** subtrader_id: like an id, `@` also allowed (Klear ids are opaque strings). */
export const SUBTRADER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/;
export const MAX_REFERENCE_LENGTH = 256;
export const MAX_DESCRIPTION_LENGTH = 1000;

// Characters a spreadsheet may execute as the start of a formula (OWASP CSV injection list).
const FORMULA_LEAD = /^[=+\-@\t\r]/;
const PLAIN_INTEGER = /^-?(?:0|[1-9][0-9]*)$/;
/** A negative decimal such as -12.50: a spreadsheet reads it as a number (a leading + it reads as a formula). */
const NEGATIVE_NUMBER = /^-(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
// Control characters other than tab are never part of a reference or a description.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/**
 * Why a cell would be refused as formula injection, or null. `-` may lead only a plain integer,
 * and only where the caller says a number is expected (amount_centicents).
 */
export function formulaInjection(text: string, numeric = false): string | null {
  if (!FORMULA_LEAD.test(text)) return null;
  // A negative number (-12.50) is data, not a formula: the amount's own check says what is wrong with it.
  if (numeric && (PLAIN_INTEGER.test(text) || NEGATIVE_NUMBER.test(text))) return null;
  const lead = text[0] === '\t' ? 'a tab' : text[0] === '\r' ? 'a carriage return' : `"${text[0]}"`;
  return `starts with ${lead}: refused as a possible spreadsheet formula`;
}

export function freeTextProblem(text: string, maxLength: number): string | null {
  if (text.length > maxLength) return `at most ${maxLength} characters`;
  if (CONTROL.test(text)) return 'must not contain control characters';
  return formulaInjection(text);
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * An RFC 3339 date-time (offset required) as one canonical UTC string: milliseconds, or
 * microseconds when they are not zero (PostgreSQL keeps microseconds). Throws a message otherwise.
 */
export function canonicalTimestamp(text: string): string {
  const m = RFC3339.exec(text);
  if (!m) throw new Error('must be an RFC 3339 date-time with an offset, like 2026-11-03T21:00:00Z');
  const [, y, mo, d, h, mi, s, frac = '', zone] = m;
  if (frac.length > 6 && /[1-9]/.test(frac.slice(6))) throw new Error('at most microsecond precision');
  const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (Number(mo) < 1 || Number(mo) > 12 || day.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    throw new Error('is not a real date and time');
  }
  const instant = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${zone.toUpperCase()}`);
  if (!Number.isFinite(instant)) throw new Error('is not a real date and time');
  const micros = frac.padEnd(6, '0').slice(0, 6);
  return `${new Date(instant).toISOString().slice(0, 19)}.${micros.endsWith('000') ? micros.slice(0, 3) : micros}Z`;
}

/** PostgreSQL's `to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')` back to canonical form. */
export function canonicalFromDatabase(text: string | null): string | null {
  if (text === null) return null;
  return text.endsWith('000Z') ? `${text.slice(0, -4)}Z` : text;
}

/**
 * One CSV line (RFC 4180 quoting) whose cells a spreadsheet will not execute: a cell that starts
 * like a formula gets a leading apostrophe (the OWASP CSV-injection advice).
 */
export function csvLine(cells: string[]): string {
  return `${cells
    .map((cell) => {
      const safe = FORMULA_LEAD.test(cell) ? `'${cell}` : cell;
      return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
    })
    .join(',')}\r\n`;
}
