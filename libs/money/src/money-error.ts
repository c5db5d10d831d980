/**
 * Typed money errors. `code` is stable (clients and the API's error filter switch on it); `message`
 * is for a person and quotes at most ~40 characters of the offending input, so a megabyte of junk in
 * a request never ends up in a response or a log line.
 */
export type MoneyParseErrorCode =
  | 'MONEY_INVALID_TYPE'
  | 'MONEY_INVALID_FORMAT'
  | 'MONEY_TOO_MANY_DECIMALS'
  | 'MONEY_OUT_OF_RANGE'
  | 'MONEY_NEGATIVE_ZERO'
  | 'MONEY_NEGATIVE_NOT_ALLOWED'
  | 'MONEY_NOT_POSITIVE'
  | 'MONEY_PRECISION_LOST';

export type MoneyErrorCode =
  | MoneyParseErrorCode
  /** Formatting would have to drop sub-cent centicents and the caller did not ask for rounding. */
  | 'MONEY_SUB_CENT_PRECISION'
  /** A sum or a stored value left the int64 range of a PostgreSQL `bigint`. */
  | 'MONEY_OVERFLOW';

export class MoneyError extends Error {
  constructor(
    readonly code: MoneyErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Input (a request field, a CSV cell, a Klear JSON value, a database value) is not valid money. */
export class MoneyParseError extends MoneyError {
  constructor(
    override readonly code: MoneyParseErrorCode,
    message: string,
  ) {
    super(code, message);
  }
}

const MAX_QUOTED_CHARS = 32;

/** A short, safe description of a rejected input for error messages. */
export function describeInput(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > MAX_QUOTED_CHARS ? `${value.slice(0, MAX_QUOTED_CHARS)}…` : value;
    const suffix = value.length > MAX_QUOTED_CHARS ? ` (${value.length} characters)` : '';
    return `${JSON.stringify(shown)}${suffix}`;
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return `the number ${String(value).slice(0, MAX_QUOTED_CHARS)}`;
  if (typeof value === 'bigint') return `the bigint ${String(value).slice(0, MAX_QUOTED_CHARS)}`;
  return `a value of type ${typeof value}`;
}
