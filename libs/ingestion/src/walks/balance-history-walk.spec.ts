import { describe, expect, it } from '@jest/globals';
import { type BalanceHistoryPage, walkBalanceHistory } from './balance-history-walk';
import { storedInstantUs } from './klear-instant';

/**
 * A Klear of entries most recent first (given as created_ts, newest first) with a keyset cursor (the
 * position after the page's last entry). `repeatPrevious`: a page read with a cursor starts with the
 * entry before it again (the simulator's duplicate_items fault on balance history).
 */
function klear(times: string[], repeatPrevious = false) {
  const requests: Array<{ limit: number; cursor?: string }> = [];
  const read = async ({ limit, cursor }: { limit: number; cursor?: string }): Promise<BalanceHistoryPage> => {
    requests.push({ limit, cursor });
    const start = cursor === undefined ? 0 : Number(cursor);
    const page = times.slice(start, start + limit);
    const next = start + limit < times.length ? String(start + limit) : undefined;
    return { createdTs: repeatPrevious && start > 0 ? [times[start - 1], ...page] : page, cursor: next };
  };
  return { read, requests };
}

const at = (minute: number) => new Date(Date.UTC(2026, 10, 20, 12, 0) - minute * 60_000).toISOString();
const plan = { pageSize: 5, stopBefore: () => undefined, signal: new AbortController().signal };

describe('walkBalanceHistory', () => {
  it('reads nothing again when no block crosses a page boundary', async () => {
    const k = klear([0, 1, 2, 3, 4, 5, 6, 7].map(at));
    expect(await walkBalanceHistory(k.read, plan)).toEqual({ pages: 2, rereads: 0, unreadableInstants: [] });
  });

  it('reads a block that a boundary splits again from its start, in one answer', async () => {
    // Minute 4 holds entries 3 to 6: page 1 is entries 0-4, page 2 entries 5-9.
    const k = klear([0, 1, 2, 4, 4, 4, 4, 7, 8, 9].map(at));
    const walk = await walkBalanceHistory(k.read, plan);
    expect(walk).toEqual({ pages: 2, rereads: 2, unreadableInstants: [] });
    // The three entries before the block, then a page from the block's start.
    expect(k.requests).toEqual([
      { limit: 5, cursor: undefined },
      { limit: 5, cursor: '5' },
      { limit: 3, cursor: undefined },
      { limit: 5, cursor: '3' },
    ]);
  });

  it('places the cursor at the block start even when a page repeats the entry before its cursor', async () => {
    const k = klear([0, 1, 2, 3, 4, 5, 6, 7, 7, 7, 10, 11].map(at), true);
    const walk = await walkBalanceHistory(k.read, plan);
    expect(walk.unreadableInstants).toEqual([]);
    // Page 2 (cursor 5) is the repeated entry at minute 4, then 5, 6, 7, 7, 7: the repeat looks like a split
    // block at minute 4 (read again: 4 entries before it, a page from there). Page 3 (cursor 10) repeats a
    // minute-7 entry: the count before that block on page 2 (3, with the repeat) is one too many, which
    // shows as a block entry in the answer; asked again with 2, then a page from the block's start.
    expect(k.requests).toEqual([
      { limit: 5, cursor: undefined },
      { limit: 5, cursor: '5' },
      { limit: 4, cursor: undefined },
      { limit: 5, cursor: '4' },
      { limit: 5, cursor: '10' },
      { limit: 3, cursor: '5' },
      { limit: 2, cursor: '5' },
      { limit: 5, cursor: '7' },
    ]);
  });

  it('reports a block larger than a page: no one answer holds it', async () => {
    const k = klear([0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 9].map(at));
    const walk = await walkBalanceHistory(k.read, plan);
    expect(walk.unreadableInstants).toEqual([at(3)]);
  });

  it('counts times that differ below the microsecond as one instant (as stored)', () => {
    expect(storedInstantUs('2026-11-20T10:00:00.1234564Z')).toBe(storedInstantUs('2026-11-20T10:00:00.123456Z'));
    expect(storedInstantUs('2026-11-20T10:00:00.1234565Z')).toBe(storedInstantUs('2026-11-20T10:00:00.123456Z'));
    expect(storedInstantUs('2026-11-20T10:00:00.1234575Z')).toBe(storedInstantUs('2026-11-20T10:00:00.123458Z'));
  });
});
