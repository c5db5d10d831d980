import type { KlearAnswerData, KlearClient, KlearResponse } from '@app/klear-client';
import type { JobContext } from '@app/jobs';
import type { InterpretableName } from '../klear-answer-interpreter';
import type { KlearIngestion } from '../klear-ingestion.service';
import type { HistoryWalkDepth, WalkMode } from './walk-depth';

export type PageRequest = { limit: number; cursor?: string };

/** One newest-first history as its job walks it: the answer read, what its walker needs of each page, and the walker. */
export interface NewestFirstHistory<N extends InterpretableName, P, O> {
  name: N;
  fetch: (request: PageRequest) => Promise<KlearResponse<KlearAnswerData<N>>>;
  /** What the walker needs of an answer (the answer itself is archived and stored by ingestion). */
  page: (answer: KlearResponse<KlearAnswerData<N>>) => P;
  /** Obligation answers: the client that completes truncated lists before they are stored. */
  klear?: KlearClient;
  /** The oldest record held (how far a deep walk reads). */
  oldestHeld: () => Promise<Date | null>;
  /** Full re-walk period of this history (walk-depth.ts); none: start-up and deep runs only. */
  fullEveryHours?: number;
  /** The history's own walker (its cursor and tie rule), given a page reader and where it may stop (ms). */
  walk: (read: (request: PageRequest) => Promise<P>, stopBefore: (newestMs: number) => number | undefined) => Promise<O>;
}

/**
 * The frame the two newest-first history walks (obligation history, balance history) share: how far
 * back this run reads (walk-depth.ts, given the oldest record held), each page fetched through the one
 * ingestion path (archived, then interpreted), and the walker handed only what it needs of each page.
 */
export async function walkNewestFirst<N extends InterpretableName, P, O>(
  context: JobContext,
  deps: { ingestion: KlearIngestion; depth: HistoryWalkDepth },
  history: NewestFirstHistory<N, P, O>,
): Promise<{ mode: WalkMode; outcome: O }> {
  const { mode, stopBefore } = await deps.depth.decide(context, history.fullEveryHours);
  const oldestHeldMs = (await history.oldestHeld())?.getTime();
  const read = async (request: PageRequest): Promise<P> => {
    let page: P | undefined;
    await deps.ingestion.ingest(
      context,
      history.name,
      async () => {
        const answer = await history.fetch(request);
        page = history.page(answer);
        return answer;
      },
      history.klear,
    );
    return page as P;
  };
  const outcome = await history.walk(read, (newestMs) => stopBefore(newestMs, oldestHeldMs));
  return { mode, outcome };
}
