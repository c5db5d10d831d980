import { describe, expect, it } from '@jest/globals';
import { escapeNulCharacters } from './postgres-text';
import { balanceEntryOccurrences } from './settlement.repository';

describe('text PostgreSQL can hold', () => {
  it('escapes every NUL character in place and names where it was', () => {
    const data = { obligations: [{ id: 'a', receives: [{ external_reference: 'x\u0000y\u0000' }] }], n: 5n, none: null };
    expect(escapeNulCharacters(data)).toEqual(['obligations[0].receives[0].external_reference']);
    expect(data.obligations[0].receives[0].external_reference).toBe('x\\u0000y\\u0000');
    expect(escapeNulCharacters(data)).toEqual([]);
  });
});

describe('balance entry occurrences', () => {
  const e = (btid: string, delta: bigint, ts = '2026-11-20T10:00:00Z') => ({
    business_transaction_id: btid,
    created_ts: ts,
    balance_delta_centicents: delta,
    locked_balance_delta_centicents: 0n,
    reason: 'fee',
  });

  it('ranks identical entries within their instant block, side by side or not (A, A, B, C, A: 0, 1, 0, 0, 2)', () => {
    expect(balanceEntryOccurrences([e('a', 1n), e('a', 1n), e('a', 2n), e('b', 1n), e('a', 1n)])).toEqual([0, 1, 0, 0, 2]);
    // The same instant written differently is the same instant; below the microsecond too (PostgreSQL keeps microseconds, rounding half to even).
    expect(
      balanceEntryOccurrences([e('a', 1n), e('a', 1n, '2026-11-20T05:00:00.000-05:00'), e('a', 1n, '2026-11-20T10:00:00.0000004Z')]),
    ).toEqual([0, 1, 2]);
  });

  it('starts again at 0 for a repeat that stands apart from its block (a page appending its first entry again)', () => {
    const older = '2026-11-20T09:00:00Z';
    expect(balanceEntryOccurrences([e('a', 1n), e('a', 1n), e('b', 1n, older), e('a', 1n)])).toEqual([0, 1, 0, 0]);
  });
});
