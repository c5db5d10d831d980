import { Module } from '@nestjs/common';
import { BufferPositionReader } from './buffer-position-reader';
import { IngestionTransactionRepository } from './ingestion-transaction.repository';
import { KlearWithdrawalRepository } from './klear-withdrawal.repository';
import { ObligationRepository } from './obligation.repository';
import { ResponseArchiveRepository } from './response-archive.repository';
import { SettlementRepository } from './settlement.repository';

/**
 * What the withdrawal workflow uses of ingestion, without ingestion's jobs (so wherever the workflow
 * runs): the buffer position as ingestion keeps it (BufferPositionReader) and the Klear withdrawals
 * it registers (KlearWithdrawalRepository). Needs KlearClientModule and the database.
 */
@Module({
  providers: [
    SettlementRepository,
    ObligationRepository,
    ResponseArchiveRepository,
    IngestionTransactionRepository,
    KlearWithdrawalRepository,
    BufferPositionReader,
  ],
  exports: [BufferPositionReader, KlearWithdrawalRepository],
})
export class IngestionSharedModule {}
