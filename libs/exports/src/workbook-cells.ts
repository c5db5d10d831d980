import { usdDecimalString } from '@app/money';
import { DateTime } from 'luxon';

/** Dollars with every centicent shown; negative in red, in parentheses-free form so filters sort numerically. */
export const USD_FORMAT = '"$"#,##0.0000;[Red]-"$"#,##0.0000';
export const COUNT_FORMAT = '#,##0';
export const ET_DATETIME_FORMAT = 'yyyy-mm-dd hh:mm:ss';

/** Excel keeps 15 significant digits: beyond that a number cell is no longer exact, so text is written. */
const MAX_EXCEL_EXACT_INTEGER = 10n ** 15n;

/**
 * A money cell in dollars. The one place a float is unavoidable: `Number(c) / 10000` is the double
 * nearest the exact dollar amount. It shows every centicent only while the amount has at most 15
 * significant digits (|c| < 10^15, under $100bn): 2^53 is not enough, a 16-digit amount such as
 * 5544911306793598 centicents prints as ...79.3597. Beyond that the exact decimal string is written.
 */
export function usdCell(centicents: bigint | null): number | string | null {
  if (centicents === null) return null;
  const magnitude = centicents < 0n ? -centicents : centicents;
  if (magnitude < MAX_EXCEL_EXACT_INTEGER) return Number(centicents) / 10000;
  return usdDecimalString(centicents, { decimals: 4 });
}

/**
 * usdCell / centicentsCell for centicents as PostgreSQL prints a bigint (canonical decimal digits),
 * without building a bigint: the million-row sheet converts six amounts per row. Up to 15 digits the
 * string converts to an exact integer double; longer ones take the bigint path.
 */
export function usdCellFromDecimal(text: string | null): number | string | null {
  if (text === null) return null;
  return digitCount(text) < 16 ? Number(text) / 10000 : usdCell(BigInt(text));
}

export function centicentsCellFromDecimal(text: string | null): number | string | null {
  if (text === null) return null;
  return digitCount(text) < 16 ? Number(text) : text;
}

const digitCount = (text: string) => (text.charCodeAt(0) === 45 /* - */ ? text.length - 1 : text.length);

/**
 * The exact centicents beside a money column: an integer cell while Excel holds it exactly, otherwise
 * its decimal digits as text. Reading either back with `BigInt(String(value))` is exact.
 */
export function centicentsCell(centicents: bigint | null): number | string | null {
  if (centicents === null) return null;
  const magnitude = centicents < 0n ? -centicents : centicents;
  return magnitude < MAX_EXCEL_EXACT_INTEGER ? Number(centicents) : centicents.toString();
}

/**
 * Untrusted text (descriptions, references, subtrader ids, purposes) for a cell. Always a string
 * primitive, so exceljs writes a string cell (`t="str"`/`t="s"`), never a `{ formula }` value: a
 * leading `=`, `+`, `-` or `@` is shown as typed and never evaluated. Control characters that XML
 * cannot carry are replaced, so a hostile value cannot break the sheet either.
 */
export function textCell(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const text = typeof value === 'string' ? value : String(value);
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd');
}

/**
 * An instant as an Excel date showing the America/New_York wall-clock time: Excel dates have no
 * zone, and ops read settlement times in ET.
 */
export function etDateTimeCell(at: Date | null): Date | null {
  if (!at) return null;
  const et = DateTime.fromJSDate(at, { zone: 'America/New_York' });
  return new Date(Date.UTC(et.year, et.month - 1, et.day, et.hour, et.minute, et.second, et.millisecond));
}

/** `2026-11-03 16:00:00 ET`, for text cells and document properties. */
export function etDateTimeText(at: Date | null): string | null {
  if (!at) return null;
  return `${DateTime.fromJSDate(at, { zone: 'America/New_York' }).toFormat('yyyy-MM-dd HH:mm:ss')} ET`;
}
