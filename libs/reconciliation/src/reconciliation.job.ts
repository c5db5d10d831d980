import { Injectable } from '@nestjs/common';
import { Clock } from '@app/clock';
import { type JobContext, type JobHandler, ScheduledJob } from '@app/jobs';
import { cycleKeyText } from './recon-inputs';
import { ReconciliationRepository } from './reconciliation.repository';
import { ReconciliationService } from './reconciliation.service';

const JOB_ACTOR = 'job';

/** Reconciles every ingested cycle, one run per asset class with an obligation in it, whose inputs changed since its last successful run (new ones included). */
@Injectable()
@ScheduledJob({
  name: 'reconcile_cycles',
  description: 'Reconcile each ingested cycle not yet reconciled at its current inputs',
  defaultCron: '*/10 * * * *',
  runAtStartup: true,
})
export class ReconcileCyclesJob implements JobHandler {
  constructor(
    private readonly reconciliation: ReconciliationService,
    private readonly repository: ReconciliationRepository,
    private readonly clock: Clock,
  ) {}

  async run(context: JobContext): Promise<void> {
    const reconciled: string[] = [];
    for (const { cycle, assetClass } of await this.repository.ingestedCycles(this.clock.now())) {
      if (context.signal.aborted) break;
      context.read();
      const outcome = await this.reconciliation.runCycleIfStale(cycle, assetClass, JOB_ACTOR);
      if (!outcome) continue;
      reconciled.push(`${cycleKeyText(cycle)}/${assetClass}`);
      context.wrote(outcome.breakCount);
      context.progress('reconciled cycle', {
        cycle: cycleKeyText(cycle),
        asset_class: assetClass,
        run_id: outcome.runId,
        breaks: outcome.breakCount,
      });
    }
    context.setDetails({ reconciled });
  }
}

/** Projected breaks from the latest settlement estimate, intraday: one run per asset class it projects, whose inputs changed. */
@Injectable()
@ScheduledJob({
  name: 'reconcile_projected',
  description: 'Projected breaks: latest settlement estimate vs the open cycle in the ledger, per asset class',
  defaultCron: '*/15 * * * *',
})
export class ReconcileProjectedJob implements JobHandler {
  constructor(
    private readonly reconciliation: ReconciliationService,
    private readonly repository: ReconciliationRepository,
  ) {}

  async run(context: JobContext): Promise<void> {
    const projected: Array<{ asset_class: string; run_id: string; breaks: number }> = [];
    const classes = await this.repository.assetClassesOfLatestEstimate();
    for (const assetClass of classes) {
      if (context.signal.aborted) break;
      context.read();
      const outcome = await this.reconciliation.runProjectedIfStale(assetClass, JOB_ACTOR);
      if (!outcome) continue;
      projected.push({ asset_class: assetClass, run_id: outcome.runId, breaks: outcome.breakCount });
      context.wrote(outcome.breakCount);
    }
    context.setDetails(projected.length > 0 ? { projected } : { skipped: classes.length > 0 ? 'inputs unchanged' : 'no estimate yet' });
  }
}
