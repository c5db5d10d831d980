import { CENTICENTS_PER_USD, isInt64 } from './centicents';
import { MoneyParseError, describeInput } from './money-error';

export interface ParseUsdOptions {
  /** Digits allowed after the point: 2 for cents (withdrawals), 4 for full centicent precision. */
  maxDecimals?: 2 | 4;
  allowNegative?: boolean;
  /** Refuse zero too (a withdrawal of "0.00" is not a withdrawal). */
  requirePositive?: boolean;
}

// Optional sign, integer part without leading zeros, optional point followed by at least one digit.
// Everything else (exponent, "+", whitespace, separators, "NaN", ".5", "5.") fails this one pattern.
const USD_AMOUNT = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;
// The integer part of INT64_MAX centicents in USD (922337203685477) has 15 digits.
const MAX_WHOLE_DIGITS = 15;

/**
 * Strictly parses a USD decimal string such as "1250000.00" into centicents.
 *
 * Only strings are accepted: a JSON number may already have been rounded by JSON.parse (and
 * 0.1 + 0.2 style floats are never money), so `5` or `5.1` as numbers are refused with a typed error.
 */
export function parseUsd(text: unknown, options: ParseUsdOptions = {}): bigint {
  const { maxDecimals = 2, allowNegative = false, requirePositive = false } = options;
  if (typeof text !== 'string') {
    throw new MoneyParseError('MONEY_INVALID_TYPE', `A USD amount must be a string such as "500.00", got ${describeInput(text)}.`);
  }
  const match = USD_AMOUNT.exec(text);
  if (match === null) {
    throw new MoneyParseError(
      'MONEY_INVALID_FORMAT',
      `${describeInput(text)} is not a USD amount: write digits with an optional "." and up to ${maxDecimals} decimals, ` +
        'such as "1250000.00" (no "$", spaces, thousands separators, "+" or exponent).',
    );
  }
  const [, sign, whole, fraction = ''] = match;
  if (fraction.length > maxDecimals) {
    throw new MoneyParseError(
      'MONEY_TOO_MANY_DECIMALS',
      `${describeInput(text)} has ${fraction.length} decimals; at most ${maxDecimals} are allowed.`,
    );
  }
  const negative = sign === '-';
  if (negative && whole === '0' && /^0*$/.test(fraction)) {
    throw new MoneyParseError('MONEY_NEGATIVE_ZERO', `${describeInput(text)} is a negative zero; write "0".`);
  }
  if (negative && !allowNegative) {
    throw new MoneyParseError('MONEY_NEGATIVE_NOT_ALLOWED', `${describeInput(text)} is negative; a positive amount is required.`);
  }
  if (whole.length > MAX_WHOLE_DIGITS) {
    throw outOfRange(text);
  }
  const magnitude = BigInt(whole) * CENTICENTS_PER_USD + BigInt(fraction.padEnd(4, '0'));
  const centicents = negative ? -magnitude : magnitude;
  if (!isInt64(centicents)) {
    throw outOfRange(text);
  }
  if (requirePositive && centicents <= 0n) {
    throw new MoneyParseError('MONEY_NOT_POSITIVE', `${describeInput(text)} is not a positive amount.`);
  }
  return centicents;
}

function outOfRange(text: string): MoneyParseError {
  return new MoneyParseError(
    'MONEY_OUT_OF_RANGE',
    `${describeInput(text)} is outside the representable range (about ±922,337,203,685,477 USD).`,
  );
}
