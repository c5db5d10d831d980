import { Injectable } from '@nestjs/common';
import { KlearClient } from '@app/klear-client';
import { type JobContext, type JobHandler, ScheduledJob } from '@app/jobs';
import { KlearIngestion } from '../klear-ingestion.service';
import { SettlementRepository } from '../settlement.repository';
import { type BalanceHistoryPage, walkBalanceHistory } from '../walks/balance-history-walk';
import { walkNewestFirst } from '../walks/newest-first-walk';
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
 * reaches the oldest entry held. Identical entries are counted over their whole instant block, a block
 * split by a page boundary read again whole (walks/balance-history-walk.ts). Only a page without a
 * cursor is the last (an empty page with a cursor is followed); a cursor Klear hands out twice in one
 * walk would loop, and fails the run.
 */
@Injectable()
@ScheduledJob({ name: 'balance_history', description: 'Settlement buffer movements', defaultCron: '*/10 * * * *', runAtStartup: true })
export class BalanceHistoryJob implements JobHandler {
  constructor(
    private readonly klear: KlearClient,
    private readonly ingestion: KlearIngestion,
    private readonly depth: HistoryWalkDepth,
    private readonly settlement: SettlementRepository,
  ) {}

  async run(context: JobContext): Promise<void> {
    const { mode, outcome: walk } = await walkNewestFirst(context, { ingestion: this.ingestion, depth: this.depth }, {
      name: 'settlementBalanceHistory',
      fetch: (request) => this.klear.getSettlementBalanceHistory(request),
      page: (answer): BalanceHistoryPage => ({ createdTs: answer.data.entries.map((e) => e.created_ts), cursor: answer.data.cursor }),
      oldestHeld: () => this.settlement.oldestBalanceHistoryEntry(),
      walk: (read, stopBefore) => walkBalanceHistory(read, { pageSize: BALANCE_HISTORY_PAGE_SIZE, stopBefore, signal: context.signal }),
    });
    context.setDetails({ mode, pages: walk.pages, ...(walk.rereads > 0 ? { block_rereads: walk.rereads } : {}) });
    if (walk.unreadableInstants.length > 0) {
      context.setDetails({ unreadable_instants: walk.unreadableInstants });
      throw new Error(
        `more than ${BALANCE_HISTORY_PAGE_SIZE} balance history entries share the created_ts ${walk.unreadableInstants.join(', ')}: ` +
          `no one answer holds them, identical entries among them may be stored fewer times than Klear holds them`,
      );
    }
  }
}
