import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { CronTime } from 'cron';
import { JobRegistry } from './job-registry';
import { describeError, JobRunner } from './job-runner';

/**
 * Puts every enabled job on its cron schedule (worker only), after the start-up catch-up.
 * Ticks are UTC. A job's runs follow one another in a process (no overlap); the advisory lock and
 * the per-tick unique index keep several processes from running one tick twice.
 */
@Injectable()
export class JobScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('JobScheduler');
  private stopped = false;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  catchUp: Promise<void> = Promise.resolve();

  constructor(
    private readonly registry: JobRegistry,
    private readonly runner: JobRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.worker.jobsEnabled) {
      this.logger.warn('WORKER_JOBS_ENABLED=false: no job is scheduled');
      return;
    }
    // Start-up work runs in the background: the process is up (and stoppable) while it catches up.
    this.catchUp = this.startUp().catch((error: unknown) => this.logger.error(`start-up failed: ${describeError(error)}`));
  }

  private async startUp(): Promise<void> {
    await this.runner.abandonStaleRuns();
    const catchUp = this.registry
      .all()
      .filter((j) => j.enabled && j.definition.runAtStartup)
      .sort((a, b) => (a.definition.startupOrder ?? 100) - (b.definition.startupOrder ?? 100));
    if (catchUp.length) this.logger.log(`catch-up: ${catchUp.length} job(s), backfill window ${this.config.worker.backfillDays} day(s)`);
    for (const [i, job] of catchUp.entries()) {
      if (this.stopped) return;
      const run = await this.runner.runToEnd(job.definition.name, { trigger: 'startup' });
      this.logger.log(
        `catch-up ${i + 1}/${catchUp.length}: ${job.definition.name} ${run?.status ?? 'not recorded'} (read ${run?.itemsRead ?? 0}, written ${run?.itemsWritten ?? 0})`,
      );
    }
    if (this.stopped) return;
    for (const job of this.registry.all()) {
      if (!job.enabled) {
        this.logger.log(`${job.definition.name}: disabled`);
        continue;
      }
      const name = job.definition.name;
      this.schedule(name, new CronTime(job.cron, 'UTC'));
      this.logger.log(`${name}: scheduled "${job.cron}" (UTC)`);
    }
  }

  /**
   * One job's ticks, one after the other: each run is recorded with the tick it belongs to (the
   * scheduled instant, not the moment a busy event loop got to it), so that two workers agree on the
   * tick whatever their lag. Ticks that pass while a run is still going are skipped, not queued.
   * The next tick is read from the product's Clock.
   */
  private schedule(name: string, cron: CronTime): void {
    let tick = cron.getNextDateFrom(this.clock.now()).toJSDate();
    const arm = () => {
      if (this.stopped) return;
      this.timers.set(
        name,
        setTimeout(() => void fire(), Math.max(0, tick.getTime() - this.clock.nowMs())),
      );
    };
    const fire = async () => {
      try {
        await this.runner.runToEnd(name, { trigger: 'schedule', scheduledFor: tick });
      } catch (error) {
        this.logger.error(`${name}: tick failed: ${describeError(error)}`);
      }
      tick = cron.getNextDateFrom(new Date(Math.max(tick.getTime(), this.clock.nowMs()))).toJSDate();
      arm();
    };
    arm();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
