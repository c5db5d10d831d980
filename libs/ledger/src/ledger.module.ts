import { Module } from '@nestjs/common';
import { LedgerFiguresRepository } from './ledger-figures.repository';
import { LedgerRepository } from './ledger.repository';
import { LedgerService } from './ledger.service';

/** The internal ledger. Needs the TypeORM connection (DbModule) and the global AuditModule. */
@Module({
  providers: [LedgerRepository, LedgerFiguresRepository, LedgerService],
  exports: [LedgerService, LedgerRepository, LedgerFiguresRepository],
})
export class LedgerModule {}
