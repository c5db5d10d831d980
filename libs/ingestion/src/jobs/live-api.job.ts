import { Injectable } from '@nestjs/common';
import { KlearClient } from '@app/klear-client';
import { type JobContext, type JobHandler, ScheduledJob } from '@app/jobs';
import { KlearIngestion } from '../klear-ingestion.service';
import { SettlementRepository } from '../settlement.repository';

/** Settlement times (or funding times) fetched per run: a backlog is spread over runs. */
const TIMES_PER_RUN = 50;
/** The member funding endpoint's largest page. */
const MEMBER_FUNDING_PAGE = 10_000;

/**
 * Subtrader groups (netted margin portfolios) with membership history: who joined or left a group
 * is kept from one pull to the next (klear_subtrader_group_membership).
 */
@Injectable()
@ScheduledJob({ name: 'subtrader_groups', description: 'Netted subtrader groups and their membership history', defaultCron: '*/15 * * * *', runAtStartup: true, startupOrder: 5 })
export class SubtraderGroupsJob implements JobHandler {
  constructor(
    private readonly klear: KlearClient,
    private readonly ingestion: KlearIngestion,
  ) {}

  async run(context: JobContext): Promise<void> {
    await this.ingestion.ingest(context, 'subtraderGroups', () => this.klear.getSubtraderGroups());
  }
}

/** The settlement (mark) prices of each settled cycle and asset class held, once each. */
@Injectable()
@ScheduledJob({ name: 'settlement_prices', description: 'Settlement prices per asset class and cycle', defaultCron: '20 * * * *', runAtStartup: true, startupOrder: 150 })
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
@ScheduledJob({ name: 'member_funding', description: "The member's funding payments per funding time", defaultCron: '25 * * * *', runAtStartup: true, startupOrder: 160 })
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
