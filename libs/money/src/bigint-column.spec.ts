import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { In, IsNull, MoreThan } from 'typeorm';
import { bigintColumnTransformer } from './bigint-column';
import { INT64_MAX, INT64_MIN } from './centicents';
import { errorCode } from './money-error-code.test-helper';

describe('bigintColumnTransformer', () => {
  it('writes centicents as the decimal string PostgreSQL takes for a bigint', () => {
    expect(bigintColumnTransformer.to(-125_000_000n)).toBe('-125000000');
    expect(bigintColumnTransformer.to(INT64_MAX)).toBe('9223372036854775807');
  });

  it('reads the string the pg driver returns for a bigint, beyond 2^53 without rounding', () => {
    expect(bigintColumnTransformer.from('9007199254740993')).toBe(9_007_199_254_740_993n);
    expect(bigintColumnTransformer.from('-9223372036854775808')).toBe(INT64_MIN);
  });

  it('passes null and undefined through, for nullable columns and IsNull()', () => {
    expect(bigintColumnTransformer.to(null)).toBeNull();
    expect(bigintColumnTransformer.to(undefined)).toBeUndefined();
    expect(bigintColumnTransformer.from(null)).toBeNull();
  });

  it('refuses numbers both ways: on the way in they may have rounded, on the way out parseInt8 is on', () => {
    expect(errorCode(() => bigintColumnTransformer.to(125))).toBe('MONEY_INVALID_TYPE');
    expect(errorCode(() => bigintColumnTransformer.from(125))).toBe('MONEY_INVALID_TYPE');
  });

  it('refuses values a bigint column cannot hold', () => {
    expect(errorCode(() => bigintColumnTransformer.to(INT64_MAX + 1n))).toBe('MONEY_OVERFLOW');
    expect(errorCode(() => bigintColumnTransformer.from('12.5'))).toBe('MONEY_INVALID_FORMAT');
  });

  it('converts the values inside TypeORM find operators', () => {
    // TypeORM hands a where-clause operator the column's transformer through transformValue.
    const greater = MoreThan(5_000_000n);
    greater.transformValue(bigintColumnTransformer);
    expect(greater.value).toBe('5000000');
    const among = In([1n, -2n]);
    among.transformValue(bigintColumnTransformer);
    expect(among.value).toEqual(['1', '-2']);
    const missing = IsNull();
    missing.transformValue(bigintColumnTransformer);
    expect(missing.value).toBeUndefined();
  });

  it('reads back every int64 it writes', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), (centicents) => {
        expect(bigintColumnTransformer.from(bigintColumnTransformer.to(centicents))).toBe(centicents);
      }),
    );
  });
});
