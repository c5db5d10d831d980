import { cursorJustAfter, instantNs } from './klear-instant';

/** What the walk needs of a page of obligation history (the page itself is stored by the reader). */
export interface ExecutionTimePage {
  executionTimes: string[];
  /** Klear's cursor: absent (or `""`) on the last page. */
  cursor?: string;
  /** The answer's body size in bytes (the page size adapts to it). */
  bodyBytes?: number;
}

export interface ExecutionTimeWalkPlan {
  pageSize: number;
  /** The contract's largest page: a page whose obligations all share one instant is re-read at this size. */
  maxPageSize: number;
  /**
   * A body past this many bytes makes the next page smaller (in proportion, down to 1); bodies under a
   * quarter of it let the page grow back (doubling, up to `pageSize`). None: pages stay `pageSize`.
   */
  targetPageBytes?: number;
  /** Given the newest execution time Klear has (ns), the instant the walk may stop before; undefined: to the end. */
  stopBefore: (newestNs: bigint) => bigint | undefined;
  signal: AbortSignal;
}

export interface ExecutionTimeWalkOutcome {
  pages: number;
  /** The smallest page size the body sizes called for (absent: never below `pageSize`). */
  smallestPageSize?: number;
  /** Instants at which more obligations share the execution_time than the largest page holds. */
  unreadableInstants: string[];
  /** The walk could not get past an instant (Klear's cursor is inclusive there): nothing older was read. */
  stoppedAt?: string;
  /**
   * Klear answered an empty page whose cursor was already asked for in this walk (a page without
   * obligations that is not the last, going nowhere): the walk stopped there, older obligations unread.
   */
  emptyPageCursor?: string;
}

/**
 * Walks a history ordered by execution_time, most recent first, with a date-time cursor, so that no
 * obligation is lost or read forever whatever Klear's tie rule. After each page the next cursor is
 * the first millisecond after the page's oldest instant (not Klear's cursor, which is that instant):
 * a strict reading ("before the cursor") and an inclusive one ("at or before") then both answer from
 * the boundary instant on, re-reading what the page already held of it (upserts by id make that
 * harmless). A page that makes no progress holds only that instant: it is re-read at the largest page
 * size; if the instant is still larger than a page, the walk steps past it with the instant itself as
 * cursor (a strict Klear moves on) and reports it, and stops if Klear answers the same page again.
 * Only a page without a cursor (or `""`) is the last: an empty page with a cursor is followed by
 * Klear's cursor, unless that cursor was already asked for in this walk (it would loop), in which case
 * the walk stops and reports it (`emptyPageCursor`).
 */
export async function walkByExecutionTime(
  read: (request: { limit: number; cursor?: string }) => Promise<ExecutionTimePage>,
  plan: ExecutionTimeWalkPlan,
): Promise<ExecutionTimeWalkOutcome> {
  const outcome: ExecutionTimeWalkOutcome = { pages: 0, unreadableInstants: [] };
  let cursor: string | undefined;
  let limit = plan.pageSize;
  /** The page size the body sizes allow (at most `pageSize`). */
  let size = plan.pageSize;
  let boundary: { ns: bigint; text: string } | undefined;
  let stepping = false;
  let stopBefore: bigint | undefined;
  let newestSeen = false;
  const followedFromEmptyPages = new Set<string>();
  for (;;) {
    if (plan.signal.aborted) throw new Error('stopped by shutdown');
    const page = await read({ limit, cursor });
    outcome.pages++;
    if (plan.targetPageBytes !== undefined && page.bodyBytes !== undefined && page.executionTimes.length > 0) {
      const perItem = page.bodyBytes / page.executionTimes.length;
      if (page.bodyBytes > plan.targetPageBytes) size = Math.max(1, Math.min(size, Math.floor(plan.targetPageBytes / perItem)));
      else if (page.bodyBytes < plan.targetPageBytes / 4) size = Math.min(plan.pageSize, size * 2);
      outcome.smallestPageSize = Math.min(outcome.smallestPageSize ?? plan.pageSize, size);
    }
    if (!page.cursor) return outcome;
    if (page.executionTimes.length === 0) {
      if (page.cursor === cursor || followedFromEmptyPages.has(page.cursor)) {
        outcome.emptyPageCursor = page.cursor;
        return outcome;
      }
      followedFromEmptyPages.add(page.cursor);
      cursor = page.cursor;
      continue;
    }
    const times = page.executionTimes.map((text) => ({ ns: instantNs(text), text }));
    const oldest = times.reduce((a, b) => (b.ns < a.ns ? b : a));
    if (!newestSeen) {
      newestSeen = true;
      stopBefore = plan.stopBefore(times.reduce((a, b) => (b.ns > a.ns ? b : a)).ns);
    }
    if (boundary !== undefined && oldest.ns >= boundary.ns) {
      // No progress: the page holds only the boundary instant (or Klear repeated a page).
      if (limit < plan.maxPageSize) {
        // Read again larger: at once to the largest page, or doubling while bodies keep pages small.
        limit = size < plan.pageSize ? Math.min(plan.maxPageSize, Math.max(limit * 2, 2)) : plan.maxPageSize;
        continue;
      }
      if (stepping) {
        outcome.stoppedAt = boundary.text;
        return outcome;
      }
      outcome.unreadableInstants.push(boundary.text);
      stepping = true;
      cursor = boundary.text;
      continue;
    }
    if (stopBefore !== undefined && oldest.ns < stopBefore) return outcome;
    boundary = oldest;
    stepping = false;
    limit = size;
    cursor = cursorJustAfter(oldest.ns);
  }
}
