import { Injectable } from '@nestjs/common';
import { KlearClient } from '@app/klear-client';
import { type JobContext, type JobHandler, ScheduledJob } from '@app/jobs';
import { KlearIngestion } from '../klear-ingestion.service';
import { SettlementRepository } from '../settlement.repository';
import { type BalanceHistoryPage, walkBalanceHistory } from '../walks/balance-history-walk';
import { walkNewestFirst } from '../walks/newest-first-walk';
import { HistoryWalkDepth } from '../walks/walk-depth';

export const BALANCE_HISTORY_PAGE_SIZE = 500;
/** Settlement times (or funding times) fetched per run: a backlog is spread over runs. */
const TIMES_PER_RUN = 50;
/** The member funding endpoint's largest page. */
const MEMBER_FUNDING_PAGE = 10_000;

@Injectable()
@ScheduledJob({
  name: 'settlement_estimate',
  description: 'Intraday settlement estimate by asset class (with next runtime), as snapshots',
  defaultCron: '*/5 * * * *',
  runAtStartup: true,
})
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
@ScheduledJob({
  name: 'settlement_balance',
  description: 'Settlement buffer balance (available, locked) as snapshots',
  defaultCron: '*/5 * * * *',
  runAtStartup: true,
})
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
    const { mode, outcome: walk } = await walkNewestFirst(
      context,
      { ingestion: this.ingestion, depth: this.depth },
      {
        name: 'settlementBalanceHistory',
        fetch: (request) => this.klear.getSettlementBalanceHistory(request),
        page: (answer): BalanceHistoryPage => ({ createdTs: answer.data.entries.map((e) => e.created_ts), cursor: answer.data.cursor }),
        oldestHeld: () => this.settlement.oldestBalanceHistoryEntry(),
        walk: (read, stopBefore) => walkBalanceHistory(read, { pageSize: BALANCE_HISTORY_PAGE_SIZE, stopBefore, signal: context.signal }),
      },
    );
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

/** The settlement (mark) prices of each settled cycle and asset class held, once each. */
@Injectable()
@ScheduledJob({
  name: 'settlement_prices',
  description: 'Settlement prices per asset class and cycle',
  defaultCron: '20 * * * *',
  runAtStartup: true,
  startupOrder: 150,
})
export class SettlementPricesJob implements JobHandler {
  constructor(
    private readonly klear: KlearClient,
    private readonly ingestion: KlearIngestion,
    private readonly settlement: SettlementRepository,
  ) {}

  async run(context: JobContext): Promise<void> {
    const missing = await this.settlement.cyclesWithoutSettlementPrices(TIMES_PER_RUN);
    for (const { asset_class: assetClass, execution_time: at } of missing) {
      if (context.signal.aborted) throw new Error('stopped by shutdown');
      await this.ingestion.ingest(context, 'settlementPrices', () => this.klear.getSettlementPrices(assetClass, at.toISOString()));
    }
    context.setDetails({ settlement_times: missing.length });
  }
}

/**
 * The member's funding payments per funding time (every subtrader and market), for each funding
 * time the obligations held carry and the member-level table does not have yet.
 */
@Injectable()
@ScheduledJob({
  name: 'member_funding',
  description: "The member's funding payments per funding time",
  defaultCron: '25 * * * *',
  runAtStartup: true,
  startupOrder: 160,
})
export class MemberFundingJob implements JobHandler {
  constructor(
    private readonly klear: KlearClient,
    private readonly ingestion: KlearIngestion,
    private readonly settlement: SettlementRepository,
  ) {}

  async run(context: JobContext): Promise<void> {
    const times = await this.settlement.fundingTimesWithoutMemberPayments(TIMES_PER_RUN);
    let pages = 0;
    for (const at of times) {
      let cursor: string | undefined;
      do {
        if (context.signal.aborted) throw new Error('stopped by shutdown');
        let next: string | undefined;
        await this.ingestion.ingest(context, 'memberFundingPayments', async () => {
          const answer = await this.klear.getMemberFundingPayments(at.toISOString(), { limit: MEMBER_FUNDING_PAGE, cursor });
          next = answer.data.cursor;
          return answer;
        });
        pages++;
        cursor = next;
      } while (cursor);
    }
    context.setDetails({ funding_times: times.length, pages });
  }
}
