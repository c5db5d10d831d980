import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { type JobContext, JobRunRepository } from '@app/jobs';

export type WalkMode = 'deep' | 'full' | 'incremental';

/** How far back a run of a walked history (obligations, balance history) reads. */
export interface WalkDepth {
  mode: WalkMode;
  /**
   * Given the newest time Klear has and the oldest one we hold (ms), the time the walk may stop before
   * (undefined: to the end of Klear's history).
   */
  stopBefore: (newestMs: number, oldestHeldMs: number | undefined) => number | undefined;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * The completeness rule of a walked history (docs/ingestion.md):
 * - incremental (every scheduled run): back to the start of the last successful run minus the
 *   correction horizon, so every change Klear made since that run to anything within the horizon is
 *   read, however deep its page;
 * - full (start-up, and every `fullEveryHours` when given): the backfill window;
 * - deep (every INGEST_DEEP_REWALK_HOURS): back to the oldest record held (at least the backfill
 *   window), so a correction beyond the horizon is read within that period.
 */
@Injectable()
export class HistoryWalkDepth {
  constructor(
    private readonly runs: JobRunRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async decide(context: JobContext, fullEveryHours?: number): Promise<WalkDepth> {
    const backfillMs = this.config.worker.backfillDays * DAY_MS;
    const window = (newestMs: number) => newestMs - backfillMs;
    const deep: WalkDepth = {
      mode: 'deep',
      stopBefore: (newest, oldestHeld) => Math.min(window(newest), oldestHeld ?? Number.POSITIVE_INFINITY),
    };
    const full: WalkDepth = { mode: 'full', stopBefore: window };
    const { deepRewalkHours, correctionHorizonHours } = this.config.ingestion;
    if (await this.due(context.job, 'deep', deepRewalkHours)) return deep;
    if (context.trigger === 'startup') return full;
    if (fullEveryHours !== undefined && (await this.due(context.job, 'full', fullEveryHours))) return full;
    const last = await this.runs.lastSuccessWith(context.job, {});
    if (!last) return full;
    const since = last.startedAt.getTime() - correctionHorizonHours * HOUR_MS;
    return { mode: 'incremental', stopBefore: () => since };
  }

  /** No successful run of this mode (a deep walk counts as full) within the period; 0: every run. */
  private async due(job: string, mode: 'deep' | 'full', hours: number): Promise<boolean> {
    if (hours === 0) return true;
    const runs = await Promise.all((mode === 'deep' ? ['deep'] : ['deep', 'full']).map((m) => this.runs.lastSuccessWith(job, { mode: m })));
    const latest = Math.max(...runs.map((r) => r?.startedAt.getTime() ?? Number.NEGATIVE_INFINITY));
    return this.clock.nowMs() - latest >= hours * HOUR_MS;
  }
}
