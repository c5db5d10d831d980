import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { KlearClient } from '@app/klear-client';
import { type JobContext, type JobHandler, JobRunRepository, ScheduledJob } from '@app/jobs';
import { KlearIngestion } from '../klear-ingestion.service';

export const OBLIGATION_PAGE_SIZE = 20;

@Injectable()
@ScheduledJob({ name: 'active_obligation', description: "The current cycle's outstanding obligations, one per asset class", defaultCron: '*/5 * * * *', runAtStartup: true })
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
 * Obligation history, most recent first. Incremental runs stop at the first page whose obligations
 * are all held unchanged; a full walk (at start-up, and at most every
 * INGEST_OBLIGATION_FULL_REWALK_HOURS) goes back through the backfill window to catch obligations
 * Klear updated after we first saw them.
 */
@Injectable()
@ScheduledJob({ name: 'obligation_history', description: 'Settled obligations with their details, versions kept', defaultCron: '*/15 * * * *', runAtStartup: true, startupOrder: 10 })
export class ObligationHistoryJob implements JobHandler {
  constructor(
    private readonly klear: KlearClient,
    private readonly ingestion: KlearIngestion,
    private readonly runs: JobRunRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async run(context: JobContext): Promise<void> {
    const mode = (await this.fullWalkDue(context)) ? 'full' : 'incremental';
    let cursor: string | undefined;
    let pages = 0;
    let windowStart: number | undefined;
    let nextCursor: string | undefined;
    let oldestOnPage: number | undefined;
    for (;;) {
      if (context.signal.aborted) throw new Error('stopped by shutdown');
      const page = await this.ingestion.ingest(context, 'obligationHistory', async () => {
        const answer = await this.klear.getObligationHistory({ limit: OBLIGATION_PAGE_SIZE, cursor });
        const times = answer.data.obligations.map((o) => Date.parse(o.execution_time));
        // The window is counted back from the newest obligation Klear has, not from our clock.
        if (windowStart === undefined && times.length) windowStart = Math.max(...times) - this.config.worker.backfillDays * 86_400_000;
        oldestOnPage = times.length ? Math.min(...times) : undefined;
        nextCursor = answer.data.cursor;
        return answer;
      }, this.klear);
      pages++;
      if (pages % 10 === 0) context.progress(`${mode} walk: ${pages} pages`);
      if (!nextCursor) break;
      if (mode === 'incremental' && page.read > 0 && page.allKnown) break;
      if (windowStart !== undefined && oldestOnPage !== undefined && oldestOnPage < windowStart) break;
      cursor = nextCursor;
    }
    context.setDetails({ mode, pages });
  }

  private async fullWalkDue(context: JobContext): Promise<boolean> {
    if (context.trigger === 'startup') return true;
    const hours = this.config.ingestion.obligationFullRewalkHours;
    if (hours === 0) return true;
    const last = await this.runs.lastSuccessWith('obligation_history', { mode: 'full' });
    return !last || this.clock.nowMs() - last.startedAt.getTime() >= hours * 3_600_000;
  }
}
