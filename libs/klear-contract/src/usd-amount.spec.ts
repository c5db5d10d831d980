import { describe, expect, it } from '@jest/globals';
import { centicentsToUsdAmount, usdAmountToCenticents } from './usd-amount';

describe('withdrawal USD amounts', () => {
  it('parses up to two decimals into centicents', () => {
    expect(usdAmountToCenticents('500.00')).toBe(5_000_000n);
    expect(usdAmountToCenticents('500')).toBe(5_000_000n);
    expect(usdAmountToCenticents('0.5')).toBe(5_000n);
    expect(usdAmountToCenticents('1250000.01')).toBe(12_500_000_100n);
  });

  it('refuses zero, negatives, exponents, separators and extra decimals', () => {
    for (const bad of ['0', '0.00', '-5.00', '1e3', '1,000.00', '5.001', '05.00', '.5', '5.', ' 5', '+5', '']) {
      expect(() => usdAmountToCenticents(bad)).toThrow();
    }
  });

  it('formats whole cents with exactly two decimals', () => {
    expect(centicentsToUsdAmount(5_000_000n)).toBe('500.00');
    expect(centicentsToUsdAmount(5_000n)).toBe('0.50');
    expect(centicentsToUsdAmount(12_500_000_100n)).toBe('1250000.01');
    expect(() => centicentsToUsdAmount(5_050n)).toThrow();
  });
});
