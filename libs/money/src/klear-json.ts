import { isLosslessNumber } from 'lossless-json';
import { isInt64 } from './centicents';
import { MoneyParseError, describeInput } from './money-error';

const JSON_INTEGER = /^-?(?:0|[1-9][0-9]*)$/;

/**
 * Reads a Klear `*_centicents` value out of parsed JSON. The Klear contract library parses
 * losslessly (integers arrive as bigint or lossless-json's LosslessNumber); this is the guard for any
 * path that used plain JSON.parse: a number is accepted only while it is a safe integer, because past
 * 2^53 JSON.parse has already rounded it and the true amount is gone.
 *
 * A JSON `-0` is read as 0 (it is the same integer); strings, exponents and fractions are refused:
 * Klear's contract says int64 integers.
 */
export function klearCentsFromJsonValue(value: unknown): bigint {
  let centicents: bigint;
  if (typeof value === 'bigint') {
    centicents = value;
  } else if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) {
      centicents = BigInt(value);
    } else if (Number.isInteger(value)) {
      throw new MoneyParseError(
        'MONEY_PRECISION_LOST',
        `Klear sent ${describeInput(value)} centicents, beyond 2^53: JSON.parse has already rounded this value. ` +
          'Parse Klear JSON losslessly.',
      );
    } else {
      throw new MoneyParseError('MONEY_INVALID_FORMAT', `Klear centicents must be an integer, got ${describeInput(value)}.`);
    }
  } else if (isLosslessNumber(value)) {
    if (!JSON_INTEGER.test(value.value)) {
      throw new MoneyParseError('MONEY_INVALID_FORMAT', `Klear centicents must be an integer, got ${describeInput(value.value)}.`);
    }
    // Longer than "-9223372036854775808" is out of range: no need to build a huge bigint.
    if (value.value.length > 20) throw outOfRange(value.value);
    centicents = BigInt(value.value);
  } else {
    throw new MoneyParseError('MONEY_INVALID_TYPE', `Klear centicents must be a JSON integer, got ${describeInput(value)}.`);
  }
  if (!isInt64(centicents)) throw outOfRange(centicents);
  return centicents;
}

function outOfRange(value: unknown): MoneyParseError {
  return new MoneyParseError('MONEY_OUT_OF_RANGE', `Klear centicents ${describeInput(value)} is outside the int64 range.`);
}
