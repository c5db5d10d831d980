import { Module } from '@nestjs/common';
import { IngestionModule } from '@app/ingestion';
import { ObligationsController } from './obligations.controller';
import { PositionsController } from './positions.controller';
import { SettlementController } from './settlement.controller';

/** Read routes over what ingestion pulled from Klear. */
@Module({
  imports: [IngestionModule],
  controllers: [ObligationsController, SettlementController, PositionsController],
})
export class KlearDataApiModule {}
