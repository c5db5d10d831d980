import { describe, expect, it } from '@jest/globals';
import { LosslessNumber, parse as parseLosslessJson } from 'lossless-json';
import { INT64_MAX, INT64_MIN } from './centicents';
import { klearCentsFromJsonValue } from './klear-json';
import { MoneyParseError } from './money-error';

function rejection(run: () => unknown): MoneyParseError {
  try {
    run();
  } catch (error) {
    if (error instanceof MoneyParseError) return error;
    throw error;
  }
  throw new Error('the value was accepted');
}

describe('klearCentsFromJsonValue', () => {
  it('accepts bigints from a lossless parser, including the int64 bounds', () => {
    expect(klearCentsFromJsonValue(-125_000_000n)).toBe(-125_000_000n);
    expect(klearCentsFromJsonValue(INT64_MAX)).toBe(INT64_MAX);
    expect(klearCentsFromJsonValue(INT64_MIN)).toBe(INT64_MIN);
  });

  it('accepts lossless-json numbers that are integers, beyond 2^53 too', () => {
    const body = parseLosslessJson('{"amount_centicents": 9223372036854775807}') as Record<string, unknown>;
    expect(klearCentsFromJsonValue(body.amount_centicents)).toBe(INT64_MAX);
    expect(klearCentsFromJsonValue(new LosslessNumber('-42'))).toBe(-42n);
  });

  it('accepts numbers while they are safe integers', () => {
    expect(klearCentsFromJsonValue(5_000_000)).toBe(5_000_000n);
    expect(klearCentsFromJsonValue(Number.MAX_SAFE_INTEGER)).toBe(9_007_199_254_740_991n);
    expect(klearCentsFromJsonValue(-0)).toBe(0n);
  });

  it('refuses a number JSON.parse has already rounded', () => {
    const body = JSON.parse('{"amount_centicents": 9007199254740993}') as { amount_centicents: number };
    const error = rejection(() => klearCentsFromJsonValue(body.amount_centicents));
    expect(error.code).toBe('MONEY_PRECISION_LOST');
    expect(error.message).toContain('JSON.parse has already rounded this value');
  });

  it.each([[5.5], [Number.NaN], [Number.POSITIVE_INFINITY]])('refuses the non-integer number %p', (value) => {
    expect(rejection(() => klearCentsFromJsonValue(value)).code).toBe('MONEY_INVALID_FORMAT');
  });

  it.each([['1.5'], ['1e3'], ['1.0']])('refuses the lossless-json number %s, which is not an integer literal', (text) => {
    expect(rejection(() => klearCentsFromJsonValue(new LosslessNumber(text))).code).toBe('MONEY_INVALID_FORMAT');
  });

  it('refuses integers outside int64, however they arrive', () => {
    expect(rejection(() => klearCentsFromJsonValue(INT64_MAX + 1n)).code).toBe('MONEY_OUT_OF_RANGE');
    expect(rejection(() => klearCentsFromJsonValue(new LosslessNumber('-9223372036854775809'))).code).toBe('MONEY_OUT_OF_RANGE');
    const huge = new LosslessNumber('9'.repeat(400));
    expect(rejection(() => klearCentsFromJsonValue(huge)).code).toBe('MONEY_OUT_OF_RANGE');
  });

  it.each([['5000000'], [null], [undefined], [{ value: '5' }], [true]])('refuses %p, which is not a JSON integer', (value) => {
    expect(rejection(() => klearCentsFromJsonValue(value)).code).toBe('MONEY_INVALID_TYPE');
  });
});
