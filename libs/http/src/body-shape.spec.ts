import { describe, expect, it } from '@jest/globals';
import { unsafeBodyProblem } from './body-shape';

describe('unsafeBodyProblem', () => {
  it('accepts ordinary bodies', () => {
    expect(unsafeBodyProblem({ amount: '5.00', entries: [{ postings: [{ account: 'bank' }] }] })).toBeNull();
    expect(unsafeBodyProblem(undefined)).toBeNull();
  });

  it('rejects nesting deeper than 32 levels without recursing', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(unsafeBodyProblem(deep)).toMatch(/deeper than 32/);
  });

  it('rejects prototype keys anywhere in the body', () => {
    expect(unsafeBodyProblem(JSON.parse('{"a":{"__proto__":{"x":1}}}'))).toMatch(/__proto__/);
    expect(unsafeBodyProblem({ constructor: { prototype: 1 } })).toMatch(/constructor/);
  });
});
