import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { CronJob } from 'cron';
import { JobRegistry } from './job-registry';
import { describeError, JobRunner } from './job-runner';

/**
 * Puts every enabled job on its cron schedule (worker only), after the start-up catch-up.
 * Ticks are UTC. `waitForCompletion` keeps one process from overlapping itself; the advisory lock
 * and the per-tick unique index keep several processes from running one tick twice.
 */
@Injectable()
export class JobScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('JobScheduler');
  private stopped = false;
  catchUp: Promise<void> = Promise.resolve();

  constructor(
    private readonly registry: JobRegistry,
    private readonly runner: JobRunner,
    private readonly scheduler: SchedulerRegistry,
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
      this.logger.log(`catch-up ${i + 1}/${catchUp.length}: ${job.definition.name} ${run?.status ?? 'not recorded'} (read ${run?.itemsRead ?? 0}, written ${run?.itemsWritten ?? 0})`);
    }
    if (this.stopped) return;
    for (const job of this.registry.all()) {
      if (!job.enabled) {
        this.logger.log(`${job.definition.name}: disabled`);
        continue;
      }
      const name = job.definition.name;
      const cron = CronJob.from({
        cronTime: job.cron,
        timeZone: 'UTC',
        waitForCompletion: true,
        onTick: async () => {
          // The tick this run belongs to: cron fires on the second, a few ms late.
          const scheduledFor = new Date(Math.floor(this.clock.nowMs() / 1000) * 1000);
          try {
            await this.runner.runToEnd(name, { trigger: 'schedule', scheduledFor });
          } catch (error) {
            this.logger.error(`${name}: tick failed: ${describeError(error)}`);
          }
        },
      });
      this.scheduler.addCronJob(name, cron as unknown as Parameters<SchedulerRegistry['addCronJob']>[1]);
      cron.start();
      this.logger.log(`${name}: scheduled "${job.cron}" (UTC)`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const [name, cron] of this.scheduler.getCronJobs()) {
      if (this.registry.find(name)) void cron.stop();
    }
  }
}
