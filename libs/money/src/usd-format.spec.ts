import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { INT64_MAX, INT64_MIN } from './centicents';
import { errorCode } from './money-error-code.test-helper';
import { type FormatUsdOptions, formatKlearUsd, formatUsd, formatUsdExact, usdDecimalString } from './usd-format';
import { parseUsd } from './usd-parse';

describe('formatUsd', () => {
  /** One body for both tables below: `formatUsd(centicents, options)` shows `text`. */
  const showsAs = (options: FormatUsdOptions) => (centicents: bigint, text: string) => {
    expect(formatUsd(centicents, options)).toBe(text);
  };

  // prettier-ignore
  it.each([
    [12_500_000_000n, '$1,250,000.00'], [0n, '$0.00'], [100n, '$0.01'], [9_990_000n, '$999.00'], [10_000_000n, '$1,000.00'],
    [-50_000n, '-$5.00'], [-12_345_678_900n, '-$1,234,567.89'],
  ])('shows %s centicents to people as %s', showsAs({}));

  it('shows every centicent with 4 decimals', () => {
    expect(formatUsdExact(12_500_000_050n)).toBe('$1,250,000.0050');
    expect(formatUsdExact(-1n)).toBe('-$0.0001');
    expect(formatUsdExact(INT64_MAX)).toBe('$922,337,203,685,477.5807');
    expect(formatUsdExact(INT64_MIN)).toBe('-$922,337,203,685,477.5808');
    expect(formatUsd(12_345n, { decimals: 4 })).toBe('$1.2345');
  });

  it('refuses to drop sub-cent centicents silently when showing 2 decimals', () => {
    expect(errorCode(() => formatUsd(12_345n))).toBe('MONEY_SUB_CENT_PRECISION');
    expect(errorCode(() => usdDecimalString(-1n))).toBe('MONEY_SUB_CENT_PRECISION');
  });

  // prettier-ignore
  it.each([
    [12_349n, '$1.23'], [12_350n, '$1.24'], [12_450n, '$1.24'], [12_451n, '$1.25'], [-12_350n, '-$1.24'],
    [-12_250n, '-$1.22'], [-49n, '$0.00'], [-50n, '$0.00'], [-150n, '-$0.02'], [999_950n, '$100.00'],
  ])('rounds %s centicents half-to-even to %s when asked to', showsAs({ round: 'half-even' }));

  it('refuses a JS number instead of a bigint', () => {
    expect(errorCode(() => formatUsd(5 as unknown as bigint))).toBe('MONEY_INVALID_TYPE');
  });

  describe('properties', () => {
    const int64 = fc.bigInt({ min: INT64_MIN, max: INT64_MAX });
    const lenient = { maxDecimals: 4, allowNegative: true } as const;
    const forPeopleToPlain = (text: string) => text.replace('$', '').replaceAll(',', '');

    it('reads back every int64 amount from its people format once "$" and commas are removed', () => {
      fc.assert(
        fc.property(int64, (centicents) => {
          expect(parseUsd(forPeopleToPlain(formatUsdExact(centicents)), lenient)).toBe(centicents);
        }),
      );
    });

    it('reads back every whole-cent amount from its 2-decimal formats', () => {
      const wholeCents = fc.bigInt({ min: INT64_MIN / 100n, max: INT64_MAX / 100n }).map((cents) => cents * 100n);
      fc.assert(
        fc.property(wholeCents, (centicents) => {
          const options = { allowNegative: true } as const;
          expect(parseUsd(forPeopleToPlain(formatUsd(centicents)), options)).toBe(centicents);
          expect(parseUsd(usdDecimalString(centicents), options)).toBe(centicents);
        }),
      );
    });

    it('groups digits in threes with commas and nothing else', () => {
      fc.assert(
        fc.property(int64, (centicents) => {
          expect(formatUsdExact(centicents)).toMatch(/^-?\$(0|[1-9][0-9]{0,2}(,[0-9]{3})*)\.[0-9]{4}$/);
        }),
      );
    });

    it('rounds half-even to the nearest cent, never further than half a cent away', () => {
      fc.assert(
        fc.property(int64, (centicents) => {
          const shown = parseUsd(usdDecimalString(centicents, { round: 'half-even' }), { allowNegative: true });
          const distance = shown > centicents ? shown - centicents : centicents - shown;
          expect(shown % 100n).toBe(0n);
          expect(distance <= 50n).toBe(true);
          if (distance === 50n) expect((shown / 100n) % 2n).toBe(0n);
        }),
      );
    });
  });
});

describe('formatKlearUsd', () => {
  it('writes a withdrawal amount with exactly 2 decimals and no separators', () => {
    expect(formatKlearUsd(5_000_000n)).toBe('500.00');
    expect(formatKlearUsd(12_500_000_000n)).toBe('1250000.00');
    expect(formatKlearUsd(100n)).toBe('0.01');
  });

  it('refuses amounts Klear cannot take: sub-cent, zero or negative', () => {
    expect(errorCode(() => formatKlearUsd(5_000_050n))).toBe('MONEY_SUB_CENT_PRECISION');
    expect(errorCode(() => formatKlearUsd(0n))).toBe('MONEY_NOT_POSITIVE');
    expect(errorCode(() => formatKlearUsd(-5_000_000n))).toBe('MONEY_NOT_POSITIVE');
  });

  it('round-trips every positive whole-cent amount through the strict withdrawal parser', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: INT64_MAX / 100n }), (cents) => {
        const text = formatKlearUsd(cents * 100n);
        expect(text).toMatch(/^(0|[1-9][0-9]*)\.[0-9]{2}$/);
        expect(parseUsd(text, { requirePositive: true })).toBe(cents * 100n);
      }),
    );
  });
});
