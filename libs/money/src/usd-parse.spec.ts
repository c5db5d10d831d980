import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { INT64_MAX, INT64_MIN } from './centicents';
import { MoneyParseError } from './money-error';
import { errorCode } from './money-error-code.test-helper';
import { parseUsd } from './usd-parse';
import { usdDecimalString } from './usd-format';

/** The code of the MoneyParseError `parse` throws, or 'accepted'. Any other error fails the test. */
const rejectionCode = (parse: () => unknown): string => errorCode(parse, MoneyParseError, 'accepted');

describe('parseUsd', () => {
  it.each([
    ['1250000.00', 12_500_000_000n],
    ['500', 5_000_000n],
    ['500.5', 5_005_000n],
    ['0', 0n],
    ['0.00', 0n],
    ['0.01', 100n],
    ['922337203685477.58', 9_223_372_036_854_775_800n],
  ])('reads %j as %s centicents', (text, centicents) => {
    expect(parseUsd(text)).toBe(centicents);
  });

  it('reads up to 4 decimals, down to one centicent, when asked to', () => {
    expect(parseUsd('0.0001', { maxDecimals: 4 })).toBe(1n);
    expect(parseUsd('1250000.1234', { maxDecimals: 4 })).toBe(12_500_001_234n);
    expect(parseUsd('922337203685477.5807', { maxDecimals: 4 })).toBe(INT64_MAX);
    expect(parseUsd('-922337203685477.5808', { maxDecimals: 4, allowNegative: true })).toBe(INT64_MIN);
  });

  it('reads negative amounts only when they are allowed', () => {
    expect(parseUsd('-5.25', { allowNegative: true })).toBe(-52_500n);
    expect(rejectionCode(() => parseUsd('-5.25'))).toBe('MONEY_NEGATIVE_NOT_ALLOWED');
  });

  it.each([
    ['1e3', 'MONEY_INVALID_FORMAT'],
    ['1E3', 'MONEY_INVALID_FORMAT'],
    ['5.001', 'MONEY_TOO_MANY_DECIMALS'],
    ['5.000', 'MONEY_TOO_MANY_DECIMALS'],
    [' 5', 'MONEY_INVALID_FORMAT'],
    ['5 ', 'MONEY_INVALID_FORMAT'],
    ['5\n', 'MONEY_INVALID_FORMAT'],
    ['1,000', 'MONEY_INVALID_FORMAT'],
    ['1,000.00', 'MONEY_INVALID_FORMAT'],
    ['1_000', 'MONEY_INVALID_FORMAT'],
    ['$5.00', 'MONEY_INVALID_FORMAT'],
    ['', 'MONEY_INVALID_FORMAT'],
    ['NaN', 'MONEY_INVALID_FORMAT'],
    ['Infinity', 'MONEY_INVALID_FORMAT'],
    ['-Infinity', 'MONEY_INVALID_FORMAT'],
    ['+5', 'MONEY_INVALID_FORMAT'],
    ['.5', 'MONEY_INVALID_FORMAT'],
    ['5.', 'MONEY_INVALID_FORMAT'],
    ['05', 'MONEY_INVALID_FORMAT'],
    ['00.50', 'MONEY_INVALID_FORMAT'],
    ['0x10', 'MONEY_INVALID_FORMAT'],
    ['５', 'MONEY_INVALID_FORMAT'],
    ['--5', 'MONEY_INVALID_FORMAT'],
    ['-0', 'MONEY_NEGATIVE_ZERO'],
    ['-0.00', 'MONEY_NEGATIVE_ZERO'],
    ['1'.repeat(40), 'MONEY_OUT_OF_RANGE'],
    ['922337203685477.59', 'MONEY_OUT_OF_RANGE'],
    ['1000000000000000', 'MONEY_OUT_OF_RANGE'],
  ])('refuses %j with %s', (text, code) => {
    expect(rejectionCode(() => parseUsd(text))).toBe(code);
  });

  it('refuses negative zero and out-of-range negatives even when negatives are allowed', () => {
    const options = { allowNegative: true, maxDecimals: 4 } as const;
    expect(rejectionCode(() => parseUsd('-0.0000', options))).toBe('MONEY_NEGATIVE_ZERO');
    expect(rejectionCode(() => parseUsd('-922337203685477.5809', options))).toBe('MONEY_OUT_OF_RANGE');
    expect(rejectionCode(() => parseUsd(`-${'9'.repeat(40)}`, options))).toBe('MONEY_OUT_OF_RANGE');
  });

  it.each([[5], [5.1], [12_500_000_000], [null], [undefined], [{ amount: '5.00' }], [['5.00']], [5n], [true]])(
    'refuses the non-string %p with MONEY_INVALID_TYPE, since JSON.parse may already have rounded a number',
    (value) => {
      expect(rejectionCode(() => parseUsd(value))).toBe('MONEY_INVALID_TYPE');
    },
  );

  it('refuses zero when a positive amount is required, and accepts one centicent above it', () => {
    expect(rejectionCode(() => parseUsd('0.00', { requirePositive: true }))).toBe('MONEY_NOT_POSITIVE');
    expect(rejectionCode(() => parseUsd('-1.00', { requirePositive: true, allowNegative: true }))).toBe('MONEY_NOT_POSITIVE');
    expect(parseUsd('0.0001', { requirePositive: true, maxDecimals: 4 })).toBe(1n);
  });

  it('quotes at most about 40 characters of a long input in its message', () => {
    const junk = `${'x'.repeat(10_000)}SECRET-TAIL`;
    const error = (() => {
      try {
        parseUsd(junk);
      } catch (caught) {
        return caught as MoneyParseError;
      }
      throw new Error('parseUsd accepted junk');
    })();
    expect(error.message).not.toContain('SECRET-TAIL');
    expect(error.message).toContain('(10011 characters)');
    expect(error.message.length).toBeLessThan(300);
  });

  describe('properties', () => {
    const int64 = fc.bigInt({ min: INT64_MIN, max: INT64_MAX });
    const digit = fc.constantFrom(...'0123456789');
    // Structurally valid strings: canonical integer part within range, 0..4 decimals, optional sign.
    const validUsdText = fc
      .record({
        negative: fc.boolean(),
        whole: fc.bigInt({ min: 0n, max: 922_337_203_685_476n }),
        fraction: fc.string({ unit: digit, maxLength: 4 }),
      })
      .filter(({ negative, whole, fraction }) => !(negative && whole === 0n && /^0*$/.test(fraction)));
    const render = ({ negative, whole, fraction }: { negative: boolean; whole: bigint; fraction: string }) =>
      `${negative ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}`;
    const lenient = { maxDecimals: 4, allowNegative: true } as const;

    it('reads back every int64 amount written as a plain 4-decimal USD string', () => {
      fc.assert(
        fc.property(int64, (centicents) => {
          expect(parseUsd(usdDecimalString(centicents, { decimals: 4 }), lenient)).toBe(centicents);
        }),
      );
    });

    it('formats every valid string it accepts back to the same digits, padded to 4 decimals', () => {
      fc.assert(
        fc.property(validUsdText, (parts) => {
          const canonical = `${parts.negative ? '-' : ''}${parts.whole}.${parts.fraction.padEnd(4, '0')}`;
          expect(usdDecimalString(parseUsd(render(parts), lenient), { decimals: 4 })).toBe(canonical);
        }),
      );
    });

    it('refuses every valid string once a character outside the grammar is injected anywhere', () => {
      const badCharacter = fc.constantFrom(...[' ', '\t', '\n', '\u00a0', '\u200b', ',', '_', "'", '+', 'e', 'E', '$', 'x', '٠', '０']);
      fc.assert(
        fc.property(validUsdText, badCharacter, fc.nat(), (parts, bad, at) => {
          const text = render(parts);
          const position = at % (text.length + 1);
          const corrupted = `${text.slice(0, position)}${bad}${text.slice(position)}`;
          expect(rejectionCode(() => parseUsd(corrupted, lenient))).toBe('MONEY_INVALID_FORMAT');
        }),
      );
    });

    it('refuses every amount just outside int64 rather than wrapping or clamping it', () => {
      const beyond = fc.oneof(fc.bigInt({ min: INT64_MAX + 1n, max: 10n ** 40n }), fc.bigInt({ min: -(10n ** 40n), max: INT64_MIN - 1n }));
      fc.assert(
        fc.property(beyond, (centicents) => {
          const magnitude = centicents < 0n ? -centicents : centicents;
          const fraction = (magnitude % 10_000n).toString().padStart(4, '0');
          const text = `${centicents < 0n ? '-' : ''}${magnitude / 10_000n}.${fraction}`;
          expect(rejectionCode(() => parseUsd(text, lenient))).toBe('MONEY_OUT_OF_RANGE');
        }),
      );
    });

    it('only ever answers arbitrary input with a value or a MoneyParseError', () => {
      fc.assert(
        fc.property(fc.oneof(fc.string(), fc.anything()), (value) => {
          const code = rejectionCode(() => parseUsd(value, lenient));
          if (code === 'accepted') expect(value).toMatch(/^-?(0|[1-9][0-9]*)(\.[0-9]{1,4})?$/);
        }),
      );
    });
  });
});
