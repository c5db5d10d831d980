import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { KlearClient } from '@app/klear-client';
import { type JobContext, type JobHandler, ScheduledJob } from '@app/jobs';
import { KlearIngestion } from '../klear-ingestion.service';
import { ObligationRepository } from '../obligation.repository';
import { type ExecutionTimePage, walkByExecutionTime } from '../walks/execution-time-walk';
import { walkNewestFirst } from '../walks/newest-first-walk';
import { HistoryWalkDepth } from '../walks/walk-depth';

export const OBLIGATION_PAGE_SIZE = 20;
/** The contract's largest page of obligation history. */
export const OBLIGATION_MAX_PAGE_SIZE = 100;

@Injectable()
@ScheduledJob({
  name: 'active_obligation',
  description: "The current cycle's outstanding obligations, one per asset class",
  defaultCron: '*/5 * * * *',
  runAtStartup: true,
})
export class ActiveObligationJob implements JobHandler {
  constructor(
    private readonly klear: KlearClient,
    private readonly ingestion: KlearIngestion,
  ) {}

  async run(context: JobContext): Promise<void> {
    // Truncated lists are completed from the paged endpoints before an obligation is stored.
    await this.ingestion.ingest(context, 'activeObligations', () => this.klear.getActiveObligations(), this.klear);
  }
}

/**
 * Obligation history, most recent first, walked so that nothing is skipped whatever the paging:
 * ties at a page boundary are re-read (walks/execution-time-walk.ts), and each run reads back as far
 * as the completeness rule says (walks/walk-depth.ts: incremental back to the last run minus the
 * correction horizon, full through the backfill window at start-up and every
 * INGEST_OBLIGATION_FULL_REWALK_HOURS, deep to the oldest obligation held every INGEST_DEEP_REWALK_HOURS).
 */
@Injectable()
@ScheduledJob({
  name: 'obligation_history',
  description: 'Settled obligations with their details, versions kept',
  defaultCron: '*/15 * * * *',
  runAtStartup: true,
  startupOrder: 10,
})
export class ObligationHistoryJob implements JobHandler {
  constructor(
    private readonly klear: KlearClient,
    private readonly ingestion: KlearIngestion,
    private readonly depth: HistoryWalkDepth,
    private readonly obligations: ObligationRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async run(context: JobContext): Promise<void> {
    const { mode, outcome: walk } = await walkNewestFirst(
      context,
      { ingestion: this.ingestion, depth: this.depth },
      {
        name: 'obligationHistory',
        fetch: (request) => this.klear.getObligationHistory(request),
        page: (answer): ExecutionTimePage => ({
          executionTimes: answer.data.obligations.map((o) => o.execution_time),
          cursor: answer.data.cursor,
          bodyBytes: answer.raw.size,
        }),
        klear: this.klear,
        oldestHeld: () => this.obligations.oldestExecutionTime(),
        fullEveryHours: this.config.ingestion.obligationFullRewalkHours,
        walk: (read, stopBefore) =>
          walkByExecutionTime(read, {
            pageSize: OBLIGATION_PAGE_SIZE,
            maxPageSize: OBLIGATION_MAX_PAGE_SIZE,
            // Pages whose bodies outgrow the client's in-memory buffer get smaller, and grow back after.
            targetPageBytes: this.config.klear.maxBufferBytes,
            stopBefore: (newestNs) => {
              const ms = stopBefore(Number(newestNs / 1_000_000n));
              return ms === undefined ? undefined : BigInt(ms) * 1_000_000n;
            },
            signal: context.signal,
          }),
      },
    );
    context.setDetails({
      mode,
      pages: walk.pages,
      ...(walk.smallestPageSize !== undefined && walk.smallestPageSize < OBLIGATION_PAGE_SIZE
        ? { smallest_page_size: walk.smallestPageSize }
        : {}),
    });
    if (walk.emptyPageCursor !== undefined) {
      context.setDetails({ empty_page_cursor: walk.emptyPageCursor });
      throw new Error(
        `Klear answered an empty obligation history page with the cursor ${walk.emptyPageCursor}, already asked for in this walk: ` +
          `a page with a cursor is not the last, the walk stopped there and older obligations were not read`,
      );
    }
    if (walk.unreadableInstants.length > 0) {
      context.setDetails({ unreadable_instants: walk.unreadableInstants });
      throw new Error(
        `more than ${OBLIGATION_MAX_PAGE_SIZE} obligations share the execution_time ${walk.unreadableInstants.join(', ')}: ` +
          `Klear's date-time cursor cannot page through them, some were not read` +
          (walk.stoppedAt === undefined ? '' : `; the walk stopped at ${walk.stoppedAt} (nothing older was read)`),
      );
    }
  }
}
