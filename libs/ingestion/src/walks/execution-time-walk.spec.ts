import { describe, expect, it } from '@jest/globals';
import { type ExecutionTimePage, walkByExecutionTime } from './execution-time-walk';
import { cursorJustAfter, instantNs } from './klear-instant';

/** A history of (id, execution time) most recent first, paged by a date-time cursor under one tie rule. */
function pagedHistory(items: Array<{ id: string; at: string }>, rule: 'strict' | 'inclusive') {
  const seen = new Set<string>();
  const requests: Array<{ limit: number; cursor?: string }> = [];
  const read = async (request: { limit: number; cursor?: string }): Promise<ExecutionTimePage> => {
    requests.push(request);
    if (requests.length > 100) throw new Error('looping');
    const bound = request.cursor === undefined ? undefined : instantNs(request.cursor);
    const rest = items.filter((i) => bound === undefined || (rule === 'strict' ? instantNs(i.at) < bound : instantNs(i.at) <= bound));
    const page = rest.slice(0, request.limit);
    for (const i of page) seen.add(i.id);
    return { executionTimes: page.map((i) => i.at), cursor: rest.length > request.limit ? page[page.length - 1].at : undefined };
  };
  return { read, seen, requests };
}

const at = (hour: number, micros = 0) => `2026-11-20T${String(hour).padStart(2, '0')}:00:00.${String(micros).padStart(6, '0')}Z`;
const plan = { pageSize: 20, maxPageSize: 100, stopBefore: () => undefined, signal: new AbortController().signal };

describe('walk by execution time', () => {
  it('reads every obligation whatever the tie rule: 10 instants x 3 at pages of 20', async () => {
    const items = Array.from({ length: 30 }, (_, n) => ({ id: `o-${n}`, at: at(20 - Math.floor(n / 3)) }));
    for (const rule of ['strict', 'inclusive'] as const) {
      const history = pagedHistory(items, rule);
      const outcome = await walkByExecutionTime(history.read, plan);
      expect({ rule, seen: history.seen.size, unreadable: outcome.unreadableInstants }).toEqual({ rule, seen: 30, unreadable: [] });
    }
  });

  it('orders instants at Klear precision: microseconds apart are different instants', async () => {
    const items = Array.from({ length: 45 }, (_, n) => ({ id: `o-${n}`, at: at(10, 900 - n) }));
    const history = pagedHistory(items, 'strict');
    await walkByExecutionTime(history.read, plan);
    expect(history.seen.size).toBe(45);
  });

  it('re-reads an instant larger than a page at the largest page, then reports one larger than that and never loops', async () => {
    const items = [
      ...Array.from({ length: 120 }, (_, n) => ({ id: `a-${n}`, at: at(12) })),
      ...Array.from({ length: 5 }, (_, n) => ({ id: `b-${n}`, at: at(11) })),
    ];
    const strict = pagedHistory(items, 'strict');
    const strictOutcome = await walkByExecutionTime(strict.read, plan);
    expect(strictOutcome.unreadableInstants).toEqual([at(12)]);
    expect(strictOutcome.stoppedAt).toBeUndefined();
    expect(strict.seen.size).toBe(105);
    const inclusive = pagedHistory(items, 'inclusive');
    expect(await walkByExecutionTime(inclusive.read, plan)).toMatchObject({ unreadableInstants: [at(12)], stoppedAt: at(12) });
    expect(inclusive.requests.length).toBeLessThan(6);
  });

  it('follows the cursor of an empty page (only a page without a cursor is the last); stops on an empty page whose cursor repeats', async () => {
    const items = Array.from({ length: 30 }, (_, n) => ({ id: `o-${n}`, at: at(20 - Math.floor(n / 3)) }));
    // Once, an empty page with a fresh cursor (Klear's, not ours): the walk follows it and reads on.
    const fresh = pagedHistory(items, 'strict');
    let bent = false;
    const followed = await walkByExecutionTime(async (request) => {
      if (request.cursor !== undefined && !bent) {
        bent = true;
        return { executionTimes: [], cursor: request.cursor.replace('Z', '1Z') };
      }
      return fresh.read(request);
    }, plan);
    expect({ seen: fresh.seen.size, empty: followed.emptyPageCursor }).toEqual({ seen: 30, empty: undefined });
    // Always an empty page with the cursor just asked for: reported, never looped.
    const stuck = pagedHistory(items, 'strict');
    const outcome = await walkByExecutionTime(
      async (request) => (request.cursor === undefined ? stuck.read(request) : { executionTimes: [], cursor: request.cursor }),
      plan,
    );
    expect(outcome.emptyPageCursor).toBeDefined();
    expect(stuck.requests.length).toBe(1);
  });

  it('stops at the first page reaching before the plan bound', async () => {
    const items = Array.from({ length: 100 }, (_, n) => ({
      id: `o-${n}`,
      at: new Date(Date.UTC(2026, 10, 20) - n * 3_600_000).toISOString(),
    }));
    const history = pagedHistory(items, 'strict');
    const bound = instantNs(items[30].at);
    const outcome = await walkByExecutionTime(history.read, { ...plan, stopBefore: () => bound });
    // Each page starts again at the previous page's oldest instant: items 0-19, then 19-38.
    expect(outcome.pages).toBe(2);
    expect(history.seen.size).toBe(39);
  });

  it('puts the cursor at the first millisecond after the instant, also for sub-millisecond instants', () => {
    expect(cursorJustAfter(instantNs('2026-11-20T10:00:00Z'))).toBe('2026-11-20T10:00:00.001Z');
    expect(cursorJustAfter(instantNs('2026-11-20T10:00:00.000500Z'))).toBe('2026-11-20T10:00:00.001Z');
    expect(instantNs('2026-11-20T05:00:00.123456789-05:00')).toBe(instantNs('2026-11-20T10:00:00Z') + 123_456_789n);
  });

  it('makes pages smaller when their bodies outgrow the target, and lets them grow back, reading everything under both tie rules', async () => {
    // 30 instants of 3 obligations: those of the 10 newest are huge (100 KB each), the older ones small (1 KB).
    const items = Array.from({ length: 90 }, (_, n) => ({
      id: `o-${n}`,
      at: at(10, 900_000 - 10_000 * Math.floor(n / 3)),
      bytes: n < 30 ? 100_000 : 1_000,
    }));
    for (const rule of ['strict', 'inclusive'] as const) {
      const history = pagedHistory(items, rule);
      const sized = async (request: { limit: number; cursor?: string }): Promise<ExecutionTimePage> => {
        const page = await history.read(request);
        const bytes = page.executionTimes.reduce((sum, t) => sum + (items.find((i) => i.at === t)?.bytes ?? 0), 0);
        return { ...page, bodyBytes: bytes };
      };
      const outcome = await walkByExecutionTime(sized, { ...plan, targetPageBytes: 500_000 });
      expect({ rule, seen: history.seen.size, unreadable: outcome.unreadableInstants }).toEqual({ rule, seen: 90, unreadable: [] });
      // 20 huge obligations make 2 MB: the next pages ask for 5; the small ones let it double back to 20.
      const limits = history.requests.map((r) => r.limit);
      expect(limits[0]).toBe(20);
      expect(limits[1]).toBe(5);
      expect(
        Math.max(
          ...history.requests.filter((r) => r.cursor !== undefined && instantNs(r.cursor) < instantNs(at(10, 800_000))).map((r) => r.limit),
        ),
      ).toBe(20);
      expect(outcome.smallestPageSize).toBe(5);
    }
  });
});
