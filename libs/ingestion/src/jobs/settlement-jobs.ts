import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { KlearClient } from '@app/klear-client';
import { type JobContext, type JobHandler, ScheduledJob } from '@app/jobs';
import { KlearIngestion } from '../klear-ingestion.service';

export const BALANCE_HISTORY_PAGE_SIZE = 500;

@Injectable()
@ScheduledJob({ name: 'settlement_estimate', description: 'Intraday settlement estimate by asset class (with next runtime), as snapshots', defaultCron: '*/5 * * * *', runAtStartup: true })
export class SettlementEstimateJob implements JobHandler {
  constructor(
    private readonly klear: KlearClient,
    private readonly ingestion: KlearIngestion,
  ) {}

  async run(context: JobContext): Promise<void> {
    // The live API has only the by-asset-class estimate (GET /margin/settlement_estimate was removed).
    await this.ingestion.ingest(context, 'settlementEstimateByAssetClass', () => this.klear.getSettlementEstimateByAssetClass());
  }
}

@Injectable()
@ScheduledJob({ name: 'settlement_balance', description: 'Settlement buffer balance (available, locked) as snapshots', defaultCron: '*/5 * * * *', runAtStartup: true })
export class SettlementBalanceJob implements JobHandler {
  constructor(
    private readonly klear: KlearClient,
    private readonly ingestion: KlearIngestion,
  ) {}

  async run(context: JobContext): Promise<void> {
    await this.ingestion.ingest(context, 'settlementBalance', () => this.klear.getSettlementBalance());
  }
}

/**
 * Buffer movements, most recent first. A scheduled run stops at the first page that brings nothing
 * new; the start-up run walks the whole backfill window. Duplicated or re-ordered items across pages
 * collapse on the entry identity (unique index), so stopping early never loses or doubles one.
 */
@Injectable()
@ScheduledJob({ name: 'balance_history', description: 'Settlement buffer movements', defaultCron: '*/10 * * * *', runAtStartup: true })
export class BalanceHistoryJob implements JobHandler {
  constructor(
    private readonly klear: KlearClient,
    private readonly ingestion: KlearIngestion,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async run(context: JobContext): Promise<void> {
    const full = context.trigger === 'startup';
    let cursor: string | undefined;
    let pages = 0;
    let windowStart: number | undefined;
    let nextCursor: string | undefined;
    let oldestOnPage: number | undefined;
    for (;;) {
      if (context.signal.aborted) throw new Error('stopped by shutdown');
      const page = await this.ingestion.ingest(context, 'settlementBalanceHistory', async () => {
        const answer = await this.klear.getSettlementBalanceHistory({ limit: BALANCE_HISTORY_PAGE_SIZE, cursor });
        const times = answer.data.entries.map((e) => Date.parse(e.created_ts));
        if (windowStart === undefined && times.length) windowStart = Math.max(...times) - this.config.worker.backfillDays * 86_400_000;
        oldestOnPage = times.length ? Math.min(...times) : undefined;
        nextCursor = answer.data.cursor;
        return answer;
      });
      pages++;
      if (pages % 10 === 0) context.progress(`${pages} pages`);
      if (!nextCursor) break;
      if (!full && page.read > 0 && page.allKnown) break;
      if (windowStart !== undefined && oldestOnPage !== undefined && oldestOnPage < windowStart) break;
      cursor = nextCursor;
    }
    context.setDetails({ mode: full ? 'full' : 'incremental', pages });
  }
}
