import { describe, expect, it } from '@jest/globals';
import { droppedFields } from './unmapped-content';

describe('droppedFields', () => {
  it('lists the raw fields the parsed value lacks, nested ones included, list items named by id', () => {
    const raw = { id: 'o1', venue: 'a', details: [{ id: 'd1', x: 1n, note: 'n' }, { y: 2n }], nested: { kept: 1n, extra: true } };
    const parsed = { id: 'o1', details: [{ id: 'd1', x: 1n }, {}], nested: { kept: 1n } };
    expect(droppedFields(raw, parsed)).toEqual([
      ['venue', 'a'],
      ['details[d1].note', 'n'],
      ['details[1].y', 2n],
      ['nested.extra', true],
    ]);
  });

  it('lists nothing when the parsed value holds every field', () => {
    expect(droppedFields({ id: 'o1', list: [{ id: 'a' }] }, { id: 'o1', list: [{ id: 'a' }] })).toEqual([]);
  });
});
