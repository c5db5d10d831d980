import { Injectable } from '@nestjs/common';
import { KlearClient } from '@app/klear-client';
import { type JobContext, type JobHandler, ScheduledJob } from '@app/jobs';
import { KlearIngestion } from '../klear-ingestion.service';
import { HistoryWalkDepth } from '../walks/walk-depth';

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
 * Buffer movements, most recent first, read back as far as the completeness rule says
 * (walks/walk-depth.ts): a scheduled run reads back to its last run minus the correction horizon, so
 * an entry Klear back-dates is read by the next run; start-up walks the backfill window; a deep re-walk
 * reaches the oldest entry held. Only a page without a cursor is the last (an empty page with a
 * cursor is followed). Klear's cursor is opaque: a cursor it hands out twice in one walk would loop,
 * and fails the run.
 */
@Injectable()
@ScheduledJob({ name: 'balance_history', description: 'Settlement buffer movements', defaultCron: '*/10 * * * *', runAtStartup: true })
export class BalanceHistoryJob implements JobHandler {
  constructor(
    private readonly klear: KlearClient,
    private readonly ingestion: KlearIngestion,
    private readonly depth: HistoryWalkDepth,
  ) {}

  async run(context: JobContext): Promise<void> {
    const { mode, stopBefore } = await this.depth.decide(context);
    const [held] = await this.ingestion.query<{ oldest: Date | null }>(`SELECT min(created_ts) AS oldest FROM klear_balance_history`);
    const followed = new Set<string>();
    let cursor: string | undefined;
    let pages = 0;
    let stopMs: number | undefined;
    let newestSeen = false;
    for (;;) {
      if (context.signal.aborted) throw new Error('stopped by shutdown');
      let times: number[] = [];
      let next: string | undefined;
      await this.ingestion.ingest(context, 'settlementBalanceHistory', async () => {
        const answer = await this.klear.getSettlementBalanceHistory({ limit: BALANCE_HISTORY_PAGE_SIZE, cursor });
        times = answer.data.entries.map((e) => Date.parse(e.created_ts));
        next = answer.data.cursor;
        return answer;
      });
      pages++;
      if (pages % 10 === 0) context.progress(`${mode} walk: ${pages} pages`);
      // Only a page without a cursor is the last: an empty page with one is followed like any other.
      if (!next) break;
      if (times.length > 0 && !newestSeen) {
        newestSeen = true;
        stopMs = stopBefore(Math.max(...times), held?.oldest?.getTime());
      }
      if (stopMs !== undefined && times.length > 0 && Math.min(...times) < stopMs) break;
      if (followed.has(next)) throw new Error(`Klear answered the balance history cursor ${next} twice in one walk: stopped rather than loop`);
      followed.add(next);
      cursor = next;
    }
    context.setDetails({ mode, pages });
  }
}
