import { describe, expect, it } from '@jest/globals';
import { type BufferLeftover, matchLeftoversByAmount } from './buffer-matching';

const HOUR = 3_600_000;
const item = (side: 'klear' | 'ledger', ident: string, hour: number, amount: bigint): BufferLeftover => ({
  side,
  internalOnly: false,
  ident,
  atMs: hour * HOUR,
  amount,
});
const names = (pairs: Array<[BufferLeftover, BufferLeftover]>) => pairs.map(([k, l]) => `${k.ident}~${l.ident}`);

describe('matching buffer leftovers by amount', () => {
  it('pairs a movement with the closest one of the same amount inside the window, not the first one', () => {
    const pairs = matchLeftoversByAmount(
      [item('klear', 'K1', 9, 100n), item('klear', 'K2', 15, 100n), item('ledger', 'L1', 15.08, 100n)],
      HOUR,
    );
    expect(names(pairs)).toEqual(['K2~L1']);
  });

  it('claims each movement at most once', () => {
    const pairs = matchLeftoversByAmount([item('klear', 'K1', 1, 5n), item('ledger', 'L1', 1.5, 5n), item('ledger', 'L2', 1.6, 5n)], HOUR);
    expect(names(pairs)).toEqual(['K1~L1']);
  });

  it('never pairs different amounts or movements further apart than the window', () => {
    const pairs = matchLeftoversByAmount(
      [item('klear', 'K1', 0, 5n), item('ledger', 'L1', 0.5, 6n), item('ledger', 'L2', 30, 5n)],
      24 * HOUR,
    );
    expect(pairs).toEqual([]);
  });

  it('pairs across any boundary of days when the window allows it', () => {
    const pairs = matchLeftoversByAmount([item('ledger', 'L1', 23, -7n), item('klear', 'K1', 49, -7n)], 48 * HOUR);
    expect(names(pairs)).toEqual(['K1~L1']);
  });
});
