import { type KlearClient, type KlearResponse, closeRejectedBody } from '@app/klear-client';
import type { ObligationEntry } from '@app/klear-contract';
import { truncatedLists } from './obligation-content';

export type DetailListName = 'settlement_details' | 'maintenance_margin_details' | 'funding_payments';

/** One page of a paged detail endpoint, as the completion needs it. */
export interface DetailPage {
  rows: ObligationEntry[DetailListName];
  cursor: string | undefined;
}

export type DetailPageFetcher = (obligationId: string, list: DetailListName, cursor: string | undefined) => Promise<DetailPage>;

/** Walks one of an obligation's detail lists, first page to last; a walker may ask for a page before the one before is used. */
export type DetailPageWalker = (obligationId: string, list: DetailListName) => AsyncIterable<DetailPage>;

/** A walker that asks for one page at a time, each after the one before was used (archived answers, tests). */
export function pageByPage(fetchPage: DetailPageFetcher): DetailPageWalker {
  return async function* (obligationId, list) {
    let cursor: string | undefined;
    do {
      const page = await fetchPage(obligationId, list, cursor);
      yield page;
      cursor = page.cursor || undefined;
    } while (cursor !== undefined);
  };
}

/**
 * Reads pages of an obligation's detail lists from Klear (1,000 rows a page, the maximum), pipelined
 * (KlearClient.walkObligationDetails): page N+1 is already asked for while `keep` archives page N, so
 * at a rate-limited tier the next request leaves as soon as its token is due. `keep` archives each
 * answer before its rows are used; a page spooled to disk is closed once kept (or not).
 */
export function klearDetailPager(
  klear: KlearClient,
  keep: (answer: KlearResponse<unknown>, rows: number) => Promise<void>,
): DetailPageWalker {
  return async function* (obligationId, list) {
    try {
      for await (const answer of klear.walkObligationDetails(obligationId, list)) {
        const rows = (answer.data as unknown as Record<DetailListName, ObligationEntry[DetailListName]>)[list];
        try {
          await keep(answer, rows.length);
        } finally {
          await answer.raw.spooledBody?.close();
        }
        yield { rows, cursor: answer.data.cursor || undefined };
      }
    } catch (error) {
      // A page breaking the contract fails the walk (not archived, as for a page held in memory).
      await closeRejectedBody(error);
      throw error;
    }
  };
}

/** Obligations whose truncated lists were read in full, and which lists that was for each. */
export interface ObligationCompletion {
  entries: Map<string, ObligationEntry>;
  completed: Map<string, DetailListName[]>;
  pages: number;
  rows: number;
}

/** A page walk that does not end (a cursor seen twice): the list is refused rather than looped on. */
const MAX_PAGES_PER_LIST = 100_000;

/**
 * Completes every truncated inline list from its paged endpoint, page after page until the last
 * (no cursor, or ""). An obligation already held complete at the same version is not paged again
 * (`heldComplete`). Throws when a walk cannot finish: the obligation is then not stored at all.
 */
export async function completeObligations(
  entries: readonly ObligationEntry[],
  walk: DetailPageWalker,
  heldComplete: (entry: ObligationEntry) => Promise<boolean>,
): Promise<ObligationCompletion> {
  const completion: ObligationCompletion = { entries: new Map(), completed: new Map(), pages: 0, rows: 0 };
  for (const entry of entries) {
    const lists = truncatedLists(entry);
    if (lists.length === 0 || completion.entries.has(entry.id) || (await heldComplete(entry))) continue;
    const complete: ObligationEntry = { ...entry };
    for (const list of lists) {
      const rows: Array<ObligationEntry[DetailListName][number]> = [];
      const seen = new Set<string>();
      const pages = walk(entry.id, list)[Symbol.asyncIterator]();
      try {
        for (let count = 0; ; count++) {
          if (count >= MAX_PAGES_PER_LIST) throw new Error(`obligation ${entry.id}: ${list} paging did not end after ${count} pages`);
          let step: IteratorResult<DetailPage>;
          try {
            step = await pages.next();
          } catch (error) {
            // The obligation is not stored from its cut inline list: the run fails saying which one waits.
            throw new Error(
              `obligation ${entry.id} not stored: its ${list} (cut at 1,000 inline) could not be read in full: ${(error as Error).message}`,
              { cause: error },
            );
          }
          if (step.done) break;
          const page = step.value;
          completion.pages++;
          for (const row of page.rows) rows.push(row);
          if (!page.cursor) break;
          if (seen.has(page.cursor)) throw new Error(`obligation ${entry.id}: ${list} paging repeated a cursor`);
          seen.add(page.cursor);
        }
      } finally {
        // A walk left early (an error, a repeated cursor) stops asking for pages.
        await pages.return?.(undefined);
      }
      if (rows.length < entry[list].length) {
        throw new Error(`obligation ${entry.id}: the paged ${list} hold ${rows.length} rows, fewer than the ${entry[list].length} inline`);
      }
      completion.rows += rows.length;
      (complete as Record<DetailListName, unknown>)[list] = rows;
    }
    completion.entries.set(entry.id, complete);
    completion.completed.set(entry.id, lists);
  }
  return completion;
}
