import { MoneyError, MoneyParseError, describeInput } from './money-error';

/** 1 USD = 10,000 centicents (Klear's unit for every monetary field). */
export const CENTICENTS_PER_USD = 10_000n;

/** Bounds of a PostgreSQL `bigint` (and of Klear's int64 fields): every stored amount fits here. */
export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

export function isInt64(value: bigint): boolean {
  return value >= INT64_MIN && value <= INT64_MAX;
}

/**
 * Guards values crossing from untyped code (JSON, the database driver, JS callers) into money code:
 * a `number` here means precision may already be gone, so it is refused rather than converted.
 */
export function assertCenticents(value: unknown, what = 'amount'): asserts value is bigint {
  if (typeof value !== 'bigint') {
    throw new MoneyError('MONEY_INVALID_TYPE', `The ${what} must be a bigint number of centicents, got ${describeInput(value)}.`);
  }
  if (!isInt64(value)) {
    throw new MoneyError('MONEY_OVERFLOW', `The ${what} ${describeInput(value)} is outside the int64 range of centicents.`);
  }
}

const CENTICENTS_STRING = /^-?(?:0|[1-9][0-9]*)$/;
// INT64_MIN has 19 digits plus a sign; anything longer is out of range without building a bigint.
const MAX_CENTICENTS_STRING_LENGTH = 20;

/**
 * Parses centicents written as a decimal integer string, as our API, CSV files and PostgreSQL
 * (`bigint` and `SUM(bigint)` come back as strings) carry them: `-?[1-9][0-9]*|0` within int64.
 * Anything another spelling could mean ("-0", "+1", "1.0", "1e3", " 1", "01") is refused.
 */
export function parseCenticents(text: unknown): bigint {
  if (typeof text !== 'string') {
    throw new MoneyParseError('MONEY_INVALID_TYPE', `Centicents must be a string of digits, got ${describeInput(text)}.`);
  }
  if (!CENTICENTS_STRING.test(text)) {
    throw new MoneyParseError(
      'MONEY_INVALID_FORMAT',
      `${describeInput(text)} is not a whole number of centicents (digits only, optional leading "-", no leading zeros).`,
    );
  }
  if (text === '-0') {
    throw new MoneyParseError('MONEY_NEGATIVE_ZERO', 'Centicents "-0" is not allowed; write "0".');
  }
  const value = text.length > MAX_CENTICENTS_STRING_LENGTH ? null : BigInt(text);
  if (value === null || !isInt64(value)) {
    throw new MoneyParseError('MONEY_OUT_OF_RANGE', `Centicents ${describeInput(text)} is outside the int64 range.`);
  }
  return value;
}

/** Centicents for our API's JSON (`<name>_centicents`): a decimal string, never a JSON number. */
export function centicentsToDecimalString(centicents: bigint): string {
  assertCenticents(centicents);
  return centicents.toString();
}

/**
 * Exact sum of int64 amounts. bigint arithmetic itself never overflows, so the check is that the
 * total still fits a `bigint` column (and Klear's int64): beyond that it is refused, not truncated.
 */
export function sumCenticents(amounts: Iterable<bigint>): bigint {
  let total = 0n;
  for (const amount of amounts) {
    assertCenticents(amount, 'summand');
    total += amount;
  }
  if (!isInt64(total)) {
    throw new MoneyError('MONEY_OVERFLOW', 'The sum of these amounts is outside the int64 range of centicents.');
  }
  return total;
}
