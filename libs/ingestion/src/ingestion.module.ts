import { Module } from '@nestjs/common';
import { ArchiveRebuild } from './archive-rebuild';
import { DerivedTablesRepository } from './derived-tables.repository';
import { IngestionTransactionRepository } from './ingestion-transaction.repository';
import { MarginReportsJob } from './jobs/margin-reports.job';
import { ActiveObligationJob, ObligationHistoryJob } from './jobs/obligation.job';
import { GuarantyFundJob, LargeTraderPositionsJob, WithdrawalStatusJob } from './jobs/position.job';
import {
  BalanceHistoryJob,
  MemberFundingJob,
  SettlementBalanceJob,
  SettlementEstimateJob,
  SettlementPricesJob,
} from './jobs/settlement.job';
import { SubtraderGroupsJob } from './jobs/subtrader.job';
import { KlearIngestion } from './klear-ingestion.service';
import { KlearWithdrawalRepository } from './klear-withdrawal.repository';
import { ObligationRepository } from './obligation.repository';
import { PositionRepository } from './position.repository';
import { ResponseArchiveRepository } from './response-archive.repository';
import { SettlementRepository } from './settlement.repository';
import { SubtraderRepository } from './subtrader.repository';
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

/** Ingestion's repositories (its data access), provided and exported together. */
const INGESTION_REPOSITORIES = [
  ResponseArchiveRepository,
  IngestionTransactionRepository,
  ObligationRepository,
  SettlementRepository,
  PositionRepository,
  SubtraderRepository,
  KlearWithdrawalRepository,
  DerivedTablesRepository,
];

/**
 * One job per Klear resource, the archive, the rebuild and the repositories. Needs KlearClientModule,
 * JobsModule and the database in the importing application.
 */
@Module({
  providers: [...INGESTION_REPOSITORIES, KlearIngestion, HistoryWalkDepth, ArchiveRebuild, ...INGESTION_JOBS],
  exports: [...INGESTION_REPOSITORIES, KlearIngestion, ArchiveRebuild],
})
export class IngestionModule {}
