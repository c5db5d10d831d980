import { describe, expect, it } from '@jest/globals';
import { validateSync } from 'class-validator';
import { IsCenticentsString, IsUsdAmount } from './money-validators';

class WithdrawalRequest {
  @IsUsdAmount()
  amount: unknown;
}

class PreciseAmount {
  @IsUsdAmount({ maxDecimals: 4 })
  amount: unknown;
}

class ToleranceSetting {
  @IsCenticentsString()
  tolerance_centicents: unknown;
}

function messagesFor<T extends object>(type: new () => T, fields: Partial<T>): string[] {
  const target = Object.assign(new type(), fields);
  return validateSync(target).flatMap((error) => Object.values(error.constraints ?? {}));
}

describe('IsUsdAmount', () => {
  it('accepts a positive strict USD string', () => {
    expect(messagesFor(WithdrawalRequest, { amount: '250000.00' })).toEqual([]);
    expect(messagesFor(WithdrawalRequest, { amount: '0.01' })).toEqual([]);
    expect(messagesFor(PreciseAmount, { amount: '0.0001' })).toEqual([]);
  });

  it.each([
    [250000, 'must be a string'],
    ['250,000.00', 'is not a USD amount'],
    ['5.001', 'has 3 decimals; at most 2 are allowed'],
    ['0.00', 'is not a positive amount'],
    ['-5.00', 'is negative'],
    [' 5', 'is not a USD amount'],
    [undefined, 'must be a string'],
  ])('refuses %p and names the field and the reason', (amount, reason) => {
    const messages = messagesFor(WithdrawalRequest, { amount });
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/^amount: /);
    expect(messages[0]).toContain(reason);
  });

  it('allows 4 decimals only when configured to', () => {
    expect(messagesFor(PreciseAmount, { amount: '5.0001' })).toEqual([]);
    expect(messagesFor(PreciseAmount, { amount: '5.00001' })[0]).toContain('at most 4 are allowed');
  });
});

describe('IsCenticentsString', () => {
  it('accepts decimal integer strings within int64', () => {
    expect(messagesFor(ToleranceSetting, { tolerance_centicents: '-9223372036854775808' })).toEqual([]);
    expect(messagesFor(ToleranceSetting, { tolerance_centicents: '0' })).toEqual([]);
  });

  it.each([['-0'], ['1.0'], ['01'], ['9223372036854775808'], [100]])('refuses %p', (tolerance_centicents) => {
    const messages = messagesFor(ToleranceSetting, { tolerance_centicents });
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/^tolerance_centicents: /);
  });
});
