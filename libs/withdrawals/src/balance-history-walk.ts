import type { KlearBalanceMovement, WithdrawalKlearPort } from './withdrawal-ports';

/**
 * Where balance history stood just before a POST: the newest instant Klear showed, and every entry
 * at that instant. Entries after it (or at it but not in it) appeared later. Klear's own timestamps
 * are compared only with Klear's own timestamps: our clock and Klear's may differ.
 */
export interface HistoryHead {
  empty: boolean;
  created_ts: string | null;
  entries_at_head: string[];
}

export function movementKey(e: KlearBalanceMovement): string {
  return `${e.reason}|${e.businessTransactionId}|${e.balanceDelta}|${e.lockedDelta}`;
}

export function headOf(newestFirst: KlearBalanceMovement[]): HistoryHead {
  if (newestFirst.length === 0) return { empty: true, created_ts: null, entries_at_head: [] };
  const newestMs = Math.max(...newestFirst.map((e) => Date.parse(e.createdTs)));
  const atHead = newestFirst.filter((e) => Date.parse(e.createdTs) === newestMs);
  return { empty: false, created_ts: new Date(newestMs).toISOString(), entries_at_head: [...new Set(atHead.map(movementKey))].sort() };
}

export async function readHistoryHead(klear: WithdrawalKlearPort): Promise<HistoryHead> {
  return headOf((await klear.balanceHistoryPage()).entries);
}

export interface NewMovements {
  /** true when the walk reached entries older than the head (or the end of history). */
  complete: boolean;
  /** Newest first, without duplicates. */
  entries: KlearBalanceMovement[];
}

/**
 * Every movement Klear shows that is newer than `head`. A whole page is classified before the walk
 * stops, so a page served out of order cannot hide an entry; duplicates across pages count once.
 */
export async function movementsSince(klear: WithdrawalKlearPort, head: HistoryHead, maxPages = 50): Promise<NewMovements> {
  const headMs = head.empty || head.created_ts === null ? Number.NEGATIVE_INFINITY : Date.parse(head.created_ts);
  const known = new Set(head.entries_at_head);
  const seen = new Set<string>();
  const entries: KlearBalanceMovement[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const answer = await klear.balanceHistoryPage(cursor);
    let reachedOlder = false;
    for (const e of answer.entries) {
      const at = Date.parse(e.createdTs);
      const key = movementKey(e);
      if (at < headMs) reachedOlder = true;
      else if (at > headMs || !known.has(key)) {
        if (!seen.has(`${key}|${at}`)) entries.push(e);
        seen.add(`${key}|${at}`);
      }
    }
    if (reachedOlder || !answer.cursor) return { complete: true, entries };
    cursor = answer.cursor;
  }
  return { complete: false, entries };
}
