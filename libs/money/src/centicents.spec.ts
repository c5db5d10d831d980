import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CENTICENTS_PER_USD, INT64_MAX, INT64_MIN, centicentsToDecimalString, parseCenticents, sumCenticents } from './centicents';
import { errorCode } from './money-error-code.test-helper';

const int64 = fc.bigInt({ min: INT64_MIN, max: INT64_MAX });

describe('centicent constants', () => {
  it('count 10,000 centicents to the dollar within the bounds of a PostgreSQL bigint', () => {
    expect(CENTICENTS_PER_USD).toBe(10_000n);
    expect(INT64_MAX).toBe(9_223_372_036_854_775_807n);
    expect(INT64_MIN).toBe(-9_223_372_036_854_775_808n);
  });
});

describe('parseCenticents', () => {
  it.each([
    ['0', 0n],
    ['125000000', 125_000_000n],
    ['-125000000', -125_000_000n],
    ['9223372036854775807', INT64_MAX],
    ['-9223372036854775808', INT64_MIN],
  ])('reads %j as %s', (text, centicents) => {
    expect(parseCenticents(text)).toBe(centicents);
  });

  it.each([
    ['-0', 'MONEY_NEGATIVE_ZERO'],
    ['+1', 'MONEY_INVALID_FORMAT'],
    ['1.0', 'MONEY_INVALID_FORMAT'],
    ['1e3', 'MONEY_INVALID_FORMAT'],
    [' 1', 'MONEY_INVALID_FORMAT'],
    ['1 ', 'MONEY_INVALID_FORMAT'],
    ['01', 'MONEY_INVALID_FORMAT'],
    ['', 'MONEY_INVALID_FORMAT'],
    ['-', 'MONEY_INVALID_FORMAT'],
    ['1,000', 'MONEY_INVALID_FORMAT'],
    ['NaN', 'MONEY_INVALID_FORMAT'],
    ['9223372036854775808', 'MONEY_OUT_OF_RANGE'],
    ['-9223372036854775809', 'MONEY_OUT_OF_RANGE'],
    ['1'.repeat(40), 'MONEY_OUT_OF_RANGE'],
  ])('refuses %j with %s', (text, code) => {
    expect(errorCode(() => parseCenticents(text))).toBe(code);
  });

  it.each([[125], [null], [undefined], [125n], [{}]])('refuses the non-string %p', (value) => {
    expect(errorCode(() => parseCenticents(value))).toBe('MONEY_INVALID_TYPE');
  });

  it('reads back every int64 written by centicentsToDecimalString', () => {
    fc.assert(
      fc.property(int64, (centicents) => {
        expect(parseCenticents(centicentsToDecimalString(centicents))).toBe(centicents);
      }),
    );
  });

  it('refuses every integer outside int64', () => {
    const beyond = fc.oneof(fc.bigInt({ min: INT64_MAX + 1n, max: 10n ** 40n }), fc.bigInt({ min: -(10n ** 40n), max: INT64_MIN - 1n }));
    fc.assert(
      fc.property(beyond, (centicents) => {
        expect(errorCode(() => parseCenticents(centicents.toString()))).toBe('MONEY_OUT_OF_RANGE');
      }),
    );
  });
});

describe('centicentsToDecimalString', () => {
  it('writes centicents as a plain decimal integer string for JSON', () => {
    expect(centicentsToDecimalString(-125_000_000n)).toBe('-125000000');
    expect(centicentsToDecimalString(INT64_MAX)).toBe('9223372036854775807');
  });

  it('refuses numbers and values a bigint column could not hold', () => {
    expect(errorCode(() => centicentsToDecimalString(5 as unknown as bigint))).toBe('MONEY_INVALID_TYPE');
    expect(errorCode(() => centicentsToDecimalString(INT64_MAX + 1n))).toBe('MONEY_OVERFLOW');
  });
});

describe('sumCenticents', () => {
  it('adds amounts exactly, past 2^53 where numbers would round', () => {
    expect(sumCenticents([9_007_199_254_740_993n, 2n, -5n])).toBe(9_007_199_254_740_990n);
    expect(sumCenticents([])).toBe(0n);
    expect(sumCenticents(new Set([INT64_MAX, INT64_MIN]))).toBe(-1n);
  });

  it('refuses a total beyond int64 instead of returning it', () => {
    expect(errorCode(() => sumCenticents([INT64_MAX, 1n]))).toBe('MONEY_OVERFLOW');
    expect(errorCode(() => sumCenticents([INT64_MIN, -1n]))).toBe('MONEY_OVERFLOW');
  });

  it('refuses a number among the summands', () => {
    expect(errorCode(() => sumCenticents([1n, 2 as unknown as bigint]))).toBe('MONEY_INVALID_TYPE');
  });

  it('returns the exact total whenever it fits int64 and throws exactly when it does not', () => {
    fc.assert(
      fc.property(fc.array(int64, { maxLength: 8 }), (amounts) => {
        const exact = amounts.reduce((total, amount) => total + amount, 0n);
        if (exact >= INT64_MIN && exact <= INT64_MAX) {
          expect(sumCenticents(amounts)).toBe(exact);
        } else {
          expect(errorCode(() => sumCenticents(amounts))).toBe('MONEY_OVERFLOW');
        }
      }),
    );
  });
});
