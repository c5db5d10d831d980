import { Module } from '@nestjs/common';
import { LedgerModule } from '@app/ledger';
import { BreakRepository } from './break.repository';
import { BreakWorkflowService } from './break-workflow.service';
import { ReconcileCyclesJob, ReconcileProjectedJob } from './reconciliation.job';
import { ReconciliationRepository } from './reconciliation.repository';
import { ReconciliationRunRepository } from './reconciliation-run.repository';
import { ReconciliationService } from './reconciliation.service';
import { ReconciliationSummaries } from './reconciliation-summaries';
import { ReconciliationSummariesRepository } from './reconciliation-summaries.repository';

export const RECONCILIATION_JOBS = [ReconcileCyclesJob, ReconcileProjectedJob];

/**
 * Reconciliation runs, breaks and their lifecycle. Needs the database, the global AuditModule and
 * the config; asks the ledger (LedgerModule) whether the adjustment a resolution names is booked.
 * The jobs register with libs/jobs wherever JobsModule is present (worker or API).
 */
@Module({
  imports: [LedgerModule],
  providers: [
    BreakRepository,
    ReconciliationRunRepository,
    ReconciliationRepository,
    ReconciliationService,
    ReconciliationSummariesRepository,
    ReconciliationSummaries,
    BreakWorkflowService,
    ...RECONCILIATION_JOBS,
  ],
  exports: [ReconciliationRepository, ReconciliationService, ReconciliationSummaries, BreakWorkflowService],
})
export class ReconciliationModule {}
