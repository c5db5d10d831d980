import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/config';
import type { JobRun, JobTrigger } from '@app/db';
import { scrubSecrets } from '@app/logging';
import { JobAdvisoryLock } from './job-lock';
import { JobRegistry } from './job-registry';
import { JobRunRepository, type NewRun } from './job-run.repository';
import type { JobContext } from './scheduled-job';

export interface StartRequest {
  trigger: JobTrigger;
  requestedBy?: string;
  /** The cron tick of a scheduled run. */
  scheduledFor?: Date;
}

/** The answer once the lock is decided: the run row (running, skipped or failed) and its completion. */
export interface StartedRun {
  run: JobRun | null;
  /** Why the run did not start, when it did not. */
  reason?: string;
  finished: Promise<JobRun | null>;
}

const MAX_ERROR_LENGTH = 4000;

export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return scrubSecrets(text).slice(0, MAX_ERROR_LENGTH);
}

/**
 * Runs jobs under their advisory lock and records every run. Never throws out of a run: a failure
 * (Klear down, database down, a bug) becomes a `failed` row when the database can still take it,
 * and a log line in any case.
 */
/** How many times a run's outcome is offered to the database before it is left to the next run. */
const FINISH_ATTEMPTS = 30;

@Injectable()
export class JobRunner implements OnApplicationShutdown {
  private readonly logger = new Logger('Jobs');
  readonly instanceId: string;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly shutdown = new AbortController();

  constructor(
    private readonly registry: JobRegistry,
    private readonly runs: JobRunRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.instanceId = config.worker.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  }

  /** Decides the lock and returns; the run continues in the background (see `finished`). */
  async start(name: string, request: StartRequest): Promise<StartedRun> {
    const job = this.registry.get(name);
    const base = {
      job: name,
      trigger: request.trigger,
      workerInstance: this.instanceId,
      requestedBy: request.requestedBy ?? null,
      scheduledFor: request.scheduledFor ?? null,
    };
    if (this.shutdown.signal.aborted) return { run: null, reason: 'shutting down', finished: Promise.resolve(null) };
    const lock = new JobAdvisoryLock(this.databaseUrl(), name);
    let acquired: boolean;
    try {
      acquired = await lock.tryAcquire();
    } catch (error) {
      const message = describeError(error);
      this.logger.error(`${name}: could not take the job lock: ${message}`);
      const run = await this.runs.insertFinished({ ...base, status: 'failed', error: `lock: ${message}` }).catch(() => null);
      return { run, reason: message, finished: Promise.resolve(run) };
    }
    if (!acquired) return this.skipped(base, 'another instance holds the job lock');
    let run: JobRun | null;
    try {
      const abandoned = await this.runs.abandonRunning(name);
      if (abandoned > 0) this.logger.warn(`${name}: marked ${abandoned} run(s) of a dead process abandoned`);
      run = await this.runs.insertRunning(base);
    } catch (error) {
      await lock.release();
      const message = describeError(error);
      this.logger.error(`${name}: could not record the run: ${message}`);
      return { run: null, reason: message, finished: Promise.resolve(null) };
    }
    if (!run) {
      await lock.release();
      return this.skipped(base, 'this tick already ran on another instance');
    }
    const finished = this.execute(job.handler, run, lock);
    this.inFlight.add(finished);
    void finished.finally(() => this.inFlight.delete(finished));
    return { run, finished };
  }

  /** Starts and waits for the end. */
  async runToEnd(name: string, request: StartRequest): Promise<JobRun | null> {
    const started = await this.start(name, request);
    return started.finished;
  }

  /** Marks runs left `running` by dead processes, for jobs whose lock is free now. */
  async abandonStaleRuns(): Promise<void> {
    for (const job of this.registry.all()) {
      const lock = new JobAdvisoryLock(this.databaseUrl(), job.definition.name);
      try {
        if (await lock.tryAcquire()) {
          const n = await this.runs.abandonRunning(job.definition.name);
          if (n > 0) this.logger.warn(`${job.definition.name}: marked ${n} run(s) of a dead process abandoned`);
        }
      } catch (error) {
        this.logger.error(`${job.definition.name}: stale-run check failed: ${describeError(error)}`);
      } finally {
        await lock.release();
      }
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.shutdown.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  private async skipped(base: NewRun, reason: string): Promise<StartedRun> {
    this.logger.log(`${base.job}: skipped (${reason})`);
    const run = await this.runs.insertFinished({ ...base, status: 'skipped', error: null }).catch((error: unknown) => {
      this.logger.error(`${base.job}: could not record the skip: ${describeError(error)}`);
      return null;
    });
    return { run, reason, finished: Promise.resolve(run) };
  }

  private async execute(handler: { run(c: JobContext): Promise<void> }, run: JobRun, lock: JobAdvisoryLock): Promise<JobRun | null> {
    let itemsRead = 0;
    let itemsWritten = 0;
    let details: Record<string, unknown> | null = null;
    const started = performance.now();
    const context: JobContext = {
      runId: run.id,
      job: run.job,
      trigger: run.trigger,
      signal: AbortSignal.any([this.shutdown.signal, lock.signal]),
      confirmLockHeld: () => lock.confirmHeld(),
      read: (n = 1) => void (itemsRead += n),
      wrote: (n = 1) => void (itemsWritten += n),
      setDetails: (d) => void (details = { ...(details ?? {}), ...d }),
      progress: (message, fields) =>
        this.logger.log(scrubSecrets(`${run.job} #${run.id}: ${message}${fields ? ` ${JSON.stringify(fields)}` : ''}`)),
    };
    this.logger.log(`${run.job} #${run.id}: started (${run.trigger})`);
    let status: 'succeeded' | 'failed' = 'succeeded';
    let error: string | null = null;
    try {
      await handler.run(context);
    } catch (caught) {
      status = 'failed';
      error = describeError(caught);
    }
    if (lock.lost) {
      // The database dropped the lock's connection mid-run: another worker may have run the job meanwhile.
      status = 'failed';
      error = error ? `${error}; ${lock.lost}` : lock.lost;
    }
    try {
      const finished = await this.recordFinish(run, { status, itemsRead, itemsWritten, error, details });
      const line = `${run.job} #${run.id}: ${status} in ${Math.round(performance.now() - started)} ms (read ${itemsRead}, written ${itemsWritten})${error ? `: ${error}` : ''}`;
      if (status === 'failed') this.logger.error(line);
      else this.logger.log(line);
      return finished;
    } catch (recordError) {
      this.logger.error(
        `${run.job} #${run.id}: ${status}${error ? ` (${error})` : ''}; could not record it: ${describeError(recordError)}`,
      );
      return null;
    } finally {
      await lock.release();
    }
  }

  /**
   * Records the outcome; while the database is away it tries again (once a second, up to
   * FINISH_ATTEMPTS times, not past shutdown), so a run in flight during an outage ends recorded as it
   * ended, not `running`. What still cannot be recorded is marked abandoned by the job's next run.
   */
  private async recordFinish(run: JobRun, outcome: Parameters<JobRunRepository['finish']>[1]): Promise<JobRun> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.runs.finish(run.id, outcome);
      } catch (error) {
        if (attempt >= FINISH_ATTEMPTS || this.shutdown.signal.aborted) throw error;
        this.logger.warn(`${run.job} #${run.id}: could not record the outcome yet (${describeError(error)}); trying again`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  private databaseUrl(): string {
    if (!this.config.database.url) throw new Error('database url not resolved before bootstrap');
    return this.config.database.url;
  }
}
