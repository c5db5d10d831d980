import { Module } from '@nestjs/common';
import { ReconciliationModule } from '@app/reconciliation';
import { BreaksController } from './breaks.controller';
import { ReconciliationsController } from './reconciliations.controller';

/** HTTP routes of reconciliation (`/reconciliations`, `/breaks`). */
@Module({ imports: [ReconciliationModule], controllers: [ReconciliationsController, BreaksController] })
export class ReconciliationApiModule {}
