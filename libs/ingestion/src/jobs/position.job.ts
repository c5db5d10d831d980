import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { KlearClient } from '@app/klear-client';
import { type JobContext, type JobHandler, ScheduledJob } from '@app/jobs';
import { etDate } from '../et-date';
import { KlearIngestion } from '../klear-ingestion.service';
import { KlearWithdrawalRepository } from '../klear-withdrawal.repository';
import { ObligationRepository } from '../obligation.repository';
import { PositionRepository } from '../position.repository';

/** Dates of large-trader reports fetched per run besides the latest: catch-up is spread over runs. */
const LARGE_TRADER_DATES_PER_RUN = 31;

@Injectable()
@ScheduledJob({ name: 'guaranty_fund', description: 'Guaranty fund balance as snapshots', defaultCron: '40 * * * *', runAtStartup: true })
export class GuarantyFundJob implements JobHandler {
  constructor(
    private readonly klear: KlearClient,
    private readonly ingestion: KlearIngestion,
  ) {}

  async run(context: JobContext): Promise<void> {
    await this.ingestion.ingest(context, 'guarantyFundBalance', () => this.klear.getGuarantyFundBalance());
  }
}

/**
 * CFTC large-trader positions: the latest report, plus the settlement days of obligations held
 * within the backfill window that have no snapshot yet.
 */
@Injectable()
@ScheduledJob({
  name: 'large_trader_positions',
  description: 'Large-trader reportable positions per settlement day',
  defaultCron: '30 23 * * *',
  runAtStartup: true,
  startupOrder: 200,
})
export class LargeTraderPositionsJob implements JobHandler {
  constructor(
    private readonly klear: KlearClient,
    private readonly ingestion: KlearIngestion,
    private readonly obligations: ObligationRepository,
    private readonly positions: PositionRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async run(context: JobContext): Promise<void> {
    await this.ingestion.ingest(context, 'largeTraderPositions', () => this.klear.getLargeTraderPositions());
    const held = await this.obligations.executionTimesWithinDays(this.config.worker.backfillDays);
    const known = new Set(await this.positions.largeTraderDates());
    const missing = [...new Set(held.map((executionTime) => etDate(executionTime)))]
      .filter((d) => !known.has(d))
      .slice(0, LARGE_TRADER_DATES_PER_RUN);
    for (const date of missing) {
      if (context.signal.aborted) throw new Error('stopped by shutdown');
      await this.ingestion.ingest(context, 'largeTraderPositions', () => this.klear.getLargeTraderPositions(date));
    }
    context.setDetails({ dates_caught_up: missing.length });
  }
}

/** Polls Klear for withdrawals this product submitted that are not final yet. */
@Injectable()
@ScheduledJob({
  name: 'withdrawal_status',
  description: 'Status of submitted withdrawals until processed or failed',
  defaultCron: '* * * * *',
  runAtStartup: true,
})
export class WithdrawalStatusJob implements JobHandler {
  constructor(
    private readonly klear: KlearClient,
    private readonly ingestion: KlearIngestion,
    private readonly withdrawals: KlearWithdrawalRepository,
  ) {}

  async run(context: JobContext): Promise<void> {
    for (const id of await this.withdrawals.awaitingFinalStatus()) {
      if (context.signal.aborted) throw new Error('stopped by shutdown');
      await this.ingestion.ingest(context, 'settlementBalanceWithdrawal', () => this.klear.getWithdrawal(id));
    }
  }
}
