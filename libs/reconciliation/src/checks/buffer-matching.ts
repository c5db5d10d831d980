/** A buffer movement group left over by reference matching: one side only, non-zero net. */
export interface BufferLeftover {
  side: 'klear' | 'ledger';
  /** A ledger group without a business reference (identified by its root entry's external_id). */
  internalOnly: boolean;
  ident: string;
  atMs: number;
  amount: bigint;
}

/**
 * Pairs leftovers of equal amount within the window, exclusively, as a sweep through time: the
 * leftovers are taken in the order given (time, side, internal_only, ident: the SQL's order), and
 * each one claims, among the unclaimed leftovers of the other side with the same amount that came
 * before it, the closest in time if it is at most `windowMs` earlier (ties: the last of them in that
 * order). A claim never depends on anything later than the later of the two movements, so a cycle's
 * result depends only on movements up to the end of its period plus the window.
 */
export function matchLeftoversByAmount(leftovers: BufferLeftover[], windowMs: number): Array<[BufferLeftover, BufferLeftover]> {
  const waiting = new Map<string, BufferLeftover[]>();
  const pairs: Array<[BufferLeftover, BufferLeftover]> = [];
  for (const item of leftovers) {
    const other = waiting.get(`${item.side === 'klear' ? 'ledger' : 'klear'}|${item.amount}`);
    const candidate = other?.at(-1);
    if (candidate !== undefined && item.atMs - candidate.atMs <= windowMs) {
      other!.pop();
      pairs.push(item.side === 'klear' ? [item, candidate] : [candidate, item]);
      continue;
    }
    const key = `${item.side}|${item.amount}`;
    const list = waiting.get(key);
    if (list) list.push(item);
    else waiting.set(key, [item]);
  }
  return pairs;
}
