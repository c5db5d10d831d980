import { SetMetadata } from '@nestjs/common';
import type { JobTrigger } from '@app/db';

/** What a job declares about itself; schedule and enabled flag can be overridden by configuration. */
export interface JobDefinition {
  /** snake_case; `JOB_<NAME>_CRON` / `JOB_<NAME>_ENABLED` use it upper-cased. */
  name: string;
  description: string;
  /** Cron expression (5 or 6 fields), evaluated in UTC. */
  defaultCron: string;
  defaultEnabled?: boolean;
  /** Run once when the worker starts (catch-up of what was missed while it was down). */
  runAtStartup?: boolean;
  /** Position in the start-up catch-up (lower first, default 100): a job reading what another ingests goes after it. */
  startupOrder?: number;
}

export interface JobContext {
  readonly runId: string;
  readonly job: string;
  readonly trigger: JobTrigger;
  /** Aborted when the process shuts down or the job lock is lost: long walks stop between pages. */
  readonly signal: AbortSignal;
  /**
   * Resolves while the run still holds its job lock, throws JobLockLostError once it does not (its
   * connection died and another run may be writing): await it before each write batch.
   */
  confirmLockHeld(): Promise<void>;
  /** Counts recorded on the run (kept even when the run fails halfway). */
  read(count?: number): void;
  wrote(count?: number): void;
  /** Remembered on the run row (e.g. `{ mode: 'full' }`). */
  setDetails(details: Record<string, unknown>): void;
  /** Progress for the logs (never secrets: the message is scrubbed anyway). */
  progress(message: string, fields?: Record<string, unknown>): void;
}

/** A job: one `run` per scheduled tick, manual request or start-up catch-up, under the job's advisory lock. */
export interface JobHandler {
  run(context: JobContext): Promise<void>;
}

export const SCHEDULED_JOB = 'klear:scheduled-job';

/** Marks a provider as a job; the registry finds it through Nest discovery. */
export const ScheduledJob = (definition: JobDefinition) => SetMetadata(SCHEDULED_JOB, definition);
