import { describe, expect, it } from '@jest/globals';
import { FaultInjector, faultRuleSchema } from './faults';

describe('fault decisions', () => {
  it('honours skip and times, and only one terminal fault fires per request', () => {
    const injector = new FaultInjector(1);
    injector.configure([
      faultRuleSchema.parse({ kind: 'status', status: 500, skip: 1, times: 2 }),
      faultRuleSchema.parse({ kind: 'timeout' }),
    ]);
    const kinds = Array.from({ length: 4 }, () => injector.decide('/margin/settlement_balance', false).terminal?.kind);
    expect(kinds).toEqual(['timeout', 'status', 'status', 'timeout']);
  });

  it('fires an obligation change only on a later obligation-history page', () => {
    const injector = new FaultInjector(1);
    injector.configure([faultRuleSchema.parse({ kind: 'obligation_changed', times: 1 })]);
    expect(injector.decide('/margin/obligation_history', false).paging.size).toBe(0);
    expect(injector.decide('/margin/settlement_balance_history', true).paging.size).toBe(0);
    expect([...injector.decide('/margin/obligation_history', true).paging]).toEqual(['obligation_changed']);
  });
});
