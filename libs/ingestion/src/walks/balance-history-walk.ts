import { storedInstantUs } from './klear-instant';

/** What the walk needs of a page of balance history (the page itself is stored by the reader). */
export interface BalanceHistoryPage {
  /** Each entry's created_ts, in the order Klear listed them. */
  createdTs: string[];
  /** Klear's opaque cursor: absent (or `""`) on the last page. */
  cursor?: string;
}

export interface BalanceHistoryWalkPlan {
  /** The contract's largest page (500): a block is read whole when it fits in one. */
  pageSize: number;
  /** Given the newest time Klear has (ms), the time the walk may stop before; undefined: to the end. */
  stopBefore: (newestMs: number) => number | undefined;
  signal: AbortSignal;
}

export interface BalanceHistoryWalkOutcome {
  pages: number;
  /** Answers read again to hold a block that a page boundary split in one answer. */
  rereads: number;
  /** Instants whose block is larger than a page: no one answer holds it, identical entries in it may be stored too few times. */
  unreadableInstants: string[];
}

type Read = (request: { limit: number; cursor?: string }) => Promise<BalanceHistoryPage>;

/** Where the block of a page's oldest instant begins: the cursor the page was read with, and how many of its entries come first. */
interface BlockStart {
  cursor: string | undefined;
  before: number;
}

/**
 * Walks the balance history, most recent first (an opaque cursor), so that identical entries are
 * counted over their whole instant block (settlement.repository.ts, `balanceEntryOccurrences`): every answer
 * is stored with occurrences counted within it, which for a part of a block is a part of its
 * identities; when a page holds entries at the previous page's oldest instant (a block the boundary
 * split, or a page overlapping the one before), the block is read again from its start in one answer
 * (a cursor placed just before it by asking its page for exactly the entries before it), so some
 * answer holds the whole block. A block larger than a page is reported (`unreadableInstants`).
 * Only a page without a cursor is the last; a cursor handed out twice in one walk fails rather than loop.
 */
export async function walkBalanceHistory(read: Read, plan: BalanceHistoryWalkPlan): Promise<BalanceHistoryWalkOutcome> {
  const outcome: BalanceHistoryWalkOutcome = { pages: 0, rereads: 0, unreadableInstants: [] };
  const followed = new Set<string>();
  let cursor: string | undefined;
  /** The oldest block of the last page with entries: the next page may continue it. */
  let open: { instant: bigint; text: string; start: BlockStart } | undefined;
  let stopMs: number | undefined;
  let newestSeen = false;
  for (;;) {
    if (plan.signal.aborted) throw new Error('stopped by shutdown');
    const page = await read({ limit: plan.pageSize, cursor });
    outcome.pages++;
    const instants = page.createdTs.map(storedInstantUs);
    if (
      open !== undefined &&
      instants.includes(open.instant) &&
      !(await readBlockWhole(read, plan.pageSize, open.instant, open.start, outcome))
    ) {
      if (!outcome.unreadableInstants.includes(open.text)) outcome.unreadableInstants.push(open.text);
    }
    // Only a page without a cursor is the last: an empty page with one is followed like any other.
    if (!page.cursor) return outcome;
    if (instants.length > 0) {
      const oldest = instants.reduce((a, b) => (b < a ? b : a));
      const before = instants.filter((i) => i > oldest).length;
      // A page all at the open block's instant continues that block: it began where that one did.
      const start = before === 0 && open?.instant === oldest ? open.start : { cursor, before };
      open = { instant: oldest, text: page.createdTs[instants.indexOf(oldest)], start };
      const times = page.createdTs.map((t) => Date.parse(t));
      if (!newestSeen) {
        newestSeen = true;
        stopMs = plan.stopBefore(Math.max(...times));
      }
      if (stopMs !== undefined && Math.min(...times) < stopMs) return outcome;
    }
    if (followed.has(page.cursor))
      throw new Error(`Klear answered the balance history cursor ${page.cursor} twice in one walk: stopped rather than loop`);
    followed.add(page.cursor);
    cursor = page.cursor;
  }
}

/**
 * Reads the block at `instant` again from its start in one answer. The entries before it on its page
 * are asked for first (their answer's cursor points just before the block); an entry a page repeated
 * makes that count too large, which shows as block entries in that answer: asked again with fewer.
 * Answers whether the block was read whole (the answer reaches past it, or is the last).
 */
async function readBlockWhole(
  read: Read,
  pageSize: number,
  instant: bigint,
  start: BlockStart,
  outcome: BalanceHistoryWalkOutcome,
): Promise<boolean> {
  let from = start.cursor;
  for (let limit = start.before, attempts = 0; limit > 0; attempts++) {
    if (attempts === 3) return false;
    const before = await read({ limit, cursor: start.cursor });
    outcome.rereads++;
    const overshoot = before.createdTs.filter((t) => storedInstantUs(t) <= instant).length;
    if (overshoot === 0) {
      if (!before.cursor) return false;
      from = before.cursor;
      break;
    }
    limit -= overshoot;
  }
  const block = await read({ limit: pageSize, cursor: from });
  outcome.rereads++;
  return !block.cursor || block.createdTs.some((t) => storedInstantUs(t) < instant);
}
