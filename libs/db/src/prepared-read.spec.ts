import { describe, expect, it } from '@jest/globals';
import { pageLimit } from './prepared-read';

describe('pageLimit', () => {
  it('writes the limit rounded up to the next page size, and cuts the rows back to the limit', () => {
    expect([1, 2, 3, 11, 12, 26, 50, 51, 52, 101, 200, 201, 202, 501].map((n) => pageLimit(n).sql)).toEqual([
      '2',
      '2',
      '11',
      '11',
      '26',
      '26',
      '51',
      '51',
      '101',
      '101',
      '201',
      '201',
      '501',
      '501',
    ]);
    const rows = Array.from({ length: 11 }, (_, i) => i);
    expect(pageLimit(7).take(rows)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(pageLimit(11).take(rows)).toBe(rows);
    expect(pageLimit(51).take(rows)).toBe(rows);
  });

  it('beyond the largest page size, rounds up to a power of two (a bounded set of texts still)', () => {
    expect([502, 1000, 1024, 1025].map((n) => pageLimit(n).sql)).toEqual(['512', '1024', '1024', '2048']);
    // Never below the limit, where floating-point log2 would round 2^49 + 1 down to 2^49.
    expect(pageLimit(2 ** 49 + 1).sql).toBe(String(2 ** 50));
  });

  it('refuses a limit that is not a positive integer (it is written into SQL text)', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60]) expect(() => pageLimit(bad)).toThrow(RangeError);
  });
});
