import { Module } from '@nestjs/common';
import { BreakWorkflowService } from './break-workflow.service';
import { ReconcileCyclesJob, ReconcileProjectedJob } from './reconciliation.job';
import { ReconciliationRepository } from './reconciliation.repository';
import { ReconciliationRunRepository } from './reconciliation-run.repository';
import { ReconciliationService } from './reconciliation.service';
import { ReconciliationSummaries } from './reconciliation-summaries';

export const RECONCILIATION_JOBS = [ReconcileCyclesJob, ReconcileProjectedJob];

/**
 * Reconciliation runs, breaks and their lifecycle. Needs the database, the global AuditModule and
 * the config. The jobs register with libs/jobs wherever JobsModule is present (worker or API).
 */
@Module({
  providers: [
    ReconciliationRunRepository,
    ReconciliationRepository,
    ReconciliationService,
    ReconciliationSummaries,
    BreakWorkflowService,
    ...RECONCILIATION_JOBS,
  ],
  exports: [ReconciliationRepository, ReconciliationService, ReconciliationSummaries, BreakWorkflowService],
})
export class ReconciliationModule {}
