import { MemberFundingJob, SettlementPricesJob, SubtraderGroupsJob } from './jobs/live-api-jobs';
import { Module } from '@nestjs/common';
import { ArchiveRebuild } from './archive-rebuild';
import { ActiveObligationJob, ObligationHistoryJob } from './jobs/obligation-jobs';
import { MarginReportsJob } from './jobs/margin-reports.job';
import { GuarantyFundJob, LargeTraderPositionsJob, WithdrawalStatusJob } from './jobs/position-jobs';
import { BalanceHistoryJob, SettlementBalanceJob, SettlementEstimateJob } from './jobs/settlement-jobs';
import { KlearIngestion } from './klear-ingestion.service';
import { ObligationQueries } from './obligation.queries';
import { ResponseArchiveRepository } from './response-archive.repository';
import { PositionQueries } from './position.queries';
import { SettlementQueries } from './settlement.queries';
import { HistoryWalkDepth } from './walks/walk-depth';

export const INGESTION_JOBS = [
  ActiveObligationJob,
  ObligationHistoryJob,
  SettlementEstimateJob,
  SettlementBalanceJob,
  BalanceHistoryJob,
  MarginReportsJob,
  WithdrawalStatusJob,
  GuarantyFundJob,
  LargeTraderPositionsJob,
  SubtraderGroupsJob,
  SettlementPricesJob,
  MemberFundingJob,
];

/**
 * One job per Klear resource, the archive, the rebuild and the read queries. Needs KlearClientModule,
 * JobsModule and the database in the importing application.
 */
@Module({
  providers: [ResponseArchiveRepository, KlearIngestion, HistoryWalkDepth, ArchiveRebuild, ObligationQueries, SettlementQueries, PositionQueries, ...INGESTION_JOBS],
  exports: [ResponseArchiveRepository, KlearIngestion, ArchiveRebuild, ObligationQueries, SettlementQueries, PositionQueries],
})
export class IngestionModule {}
