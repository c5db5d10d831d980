import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { INT64_MAX } from './centicents';
import { toJsonSafe } from './json-safe';

class Withdrawal {
  constructor(
    readonly id: string,
    readonly amountCenticents: bigint,
    readonly createdAt: Date,
  ) {}
}

describe('toJsonSafe', () => {
  it('turns nested bigints into decimal strings and leaves every other value as it was', () => {
    const createdAt = new Date('2026-11-20T15:00:00Z');
    const response = {
      balance_available_centicents: INT64_MAX,
      entries: [{ balance_delta_centicents: -125_000_000n, reason: 'wire', created_ts: createdAt }],
      locked_balance_centicents: null,
      count: 1,
      settled: false,
    };
    const safe = toJsonSafe(response);
    expect(safe).toEqual({
      balance_available_centicents: '9223372036854775807',
      entries: [{ balance_delta_centicents: '-125000000', reason: 'wire', created_ts: createdAt }],
      locked_balance_centicents: null,
      count: 1,
      settled: false,
    });
    expect(safe.entries[0].created_ts).toBe(createdAt);
    expect(JSON.parse(JSON.stringify(safe)).entries[0].created_ts).toBe('2026-11-20T15:00:00.000Z');
  });

  it('copies class instances such as entities into plain objects with their own fields', () => {
    const safe = toJsonSafe([new Withdrawal('w-1', 5_000_000n, new Date(0))]);
    expect(JSON.stringify(safe)).toBe('[{"id":"w-1","amountCenticents":"5000000","createdAt":"1970-01-01T00:00:00.000Z"}]');
  });

  it('does not change its input', () => {
    const input = { amount_centicents: 5n, nested: { fee_centicents: 1n } };
    toJsonSafe(input);
    expect(input).toEqual({ amount_centicents: 5n, nested: { fee_centicents: 1n } });
  });

  it('accepts the same object twice but refuses a cycle', () => {
    const shared = { fee_centicents: 3n };
    expect(toJsonSafe({ a: shared, b: shared })).toEqual({ a: { fee_centicents: '3' }, b: { fee_centicents: '3' } });
    const cyclic: Record<string, unknown> = { amount_centicents: 1n };
    cyclic.self = cyclic;
    expect(() => toJsonSafe(cyclic)).toThrow('reference cycle');
  });

  it('serialises any JSON-like value holding bigints exactly as if each bigint were its digits in a string', () => {
    const jsonWithBigints = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.bigInt(),
        fc.string(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value')),
        fc.dictionary(fc.string(), tie('value')),
      ),
    })).value;
    fc.assert(
      fc.property(jsonWithBigints, (value) => {
        const expected = JSON.stringify(value, (_key, item) => (typeof item === 'bigint' ? item.toString() : item));
        expect(JSON.stringify(toJsonSafe(value))).toBe(expected);
      }),
    );
  });
});
