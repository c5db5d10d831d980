import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { BusinessRuleViolation } from '@app/errors';
import { CycleNotExecuted, CycleNotIngested, NoEstimateSnapshot } from './reconciliation-errors';
import { ReconciliationRepository, type RunRow } from './reconciliation.repository';
import { ReconciliationRunRepository, type RunOutcome } from './reconciliation-run.repository';
import { cycleKeyText, cycleScopeKey, projectedScopeKey, type ReconSettings } from './recon-inputs';

/**
 * A cycle (by its execution time or its ET date) or the projection of the open cycle, and the asset
 * class (needed when the cycle, or the latest estimate, has several).
 */
export type RunTarget =
  { cycle: Date; assetClass?: string } | { date: string; assetClass?: string } | { projected: true; assetClass?: string };

/** Starting runs (on request or from the jobs) with the configured tolerances. */
@Injectable()
export class ReconciliationService {
  constructor(
    private readonly runs: ReconciliationRunRepository,
    private readonly repository: ReconciliationRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  get settings(): ReconSettings {
    return this.config.reconciliation;
  }

  async run(target: RunTarget, actor: string): Promise<RunRow> {
    const outcome = await this.start(target, actor);
    return this.repository.getRun(outcome.runId);
  }

  async start(target: RunTarget, actor: string): Promise<RunOutcome> {
    if ('projected' in target) {
      const assetClass = await this.projectedAssetClassOf(target.assetClass);
      return this.runs.run({ scope: 'projected', assetClass, actor, settings: this.settings }, () => new NoEstimateSnapshot(assetClass));
    }
    const cycle = 'cycle' in target ? target.cycle : await this.cycleOfDate(target.date);
    // Klear can show the open cycle's obligation as active before it executes (docs/klear-api.md).
    if (cycle.getTime() > this.clock.nowMs()) throw new CycleNotExecuted(cycleKeyText(cycle));
    const assetClass = await this.assetClassOf(cycle, target.assetClass);
    return this.runs.run(
      { scope: 'cycle', cycle, assetClass, actor, settings: this.settings },
      () => new CycleNotIngested(`${cycleKeyText(cycle)} (${assetClass})`),
    );
  }

  /** Runs a cycle's asset class only when its inputs changed since its last successful run; undefined when skipped. */
  async runCycleIfStale(cycle: Date, assetClass: string, actor: string): Promise<RunOutcome | undefined> {
    const sha = await this.runs.currentInputsSha({ scope: 'cycle', cycle, assetClass, settings: this.settings });
    if (sha === undefined || sha === (await this.repository.latestSucceededSha(cycleScopeKey(cycle, assetClass)))) return undefined;
    return this.start({ cycle, assetClass }, actor);
  }

  /** The asset class a cycle's run reconciles: the one asked for, or the cycle's only one (several must be named). */
  private async assetClassOf(cycle: Date, asked: string | undefined): Promise<string> {
    if (asked !== undefined) return asked;
    const classes = await this.repository.assetClassesOfCycle(cycle);
    if (classes.length === 0) throw new CycleNotIngested(cycleKeyText(cycle));
    return onlyAssetClass(classes, `${cycleKeyText(cycle)} has obligations in`);
  }

  /** The asset class a projected run reconciles: the one asked for, or the latest estimate's only one (several must be named). */
  private async projectedAssetClassOf(asked: string | undefined): Promise<string> {
    if (asked !== undefined) return asked;
    const classes = await this.repository.assetClassesOfLatestEstimate();
    if (classes.length === 0) throw new NoEstimateSnapshot();
    return onlyAssetClass(classes, 'the latest settlement estimate projects');
  }

  /** Projects one asset class of the latest estimate only when its inputs changed since its last successful projected run. */
  async runProjectedIfStale(assetClass: string, actor: string): Promise<RunOutcome | undefined> {
    const sha = await this.runs.currentInputsSha({ scope: 'projected', assetClass, settings: this.settings });
    if (sha === undefined || sha === (await this.repository.latestSucceededSha(projectedScopeKey(assetClass)))) return undefined;
    return this.start({ projected: true, assetClass }, actor);
  }

  private async cycleOfDate(date: string): Promise<Date> {
    const cycles = await this.repository.cyclesOnEtDate(date);
    if (cycles.length === 0) throw new CycleNotIngested(date);
    if (cycles.length > 1) {
      throw new BusinessRuleViolation(
        'SEVERAL_CYCLES_ON_DATE',
        `${date} has ${cycles.length} cycles: reconcile one by its execution time`,
        {
          cycles: cycles.map(cycleKeyText),
        },
      );
    }
    return cycles[0];
  }
}

/** The one asset class of a list, or 422 SEVERAL_ASSET_CLASSES naming them. */
function onlyAssetClass(classes: string[], what: string): string {
  if (classes.length > 1) {
    throw new BusinessRuleViolation('SEVERAL_ASSET_CLASSES', `${what} ${classes.join(', ')}: reconcile one asset class at a time`, {
      asset_classes: classes,
    });
  }
  return classes[0];
}
