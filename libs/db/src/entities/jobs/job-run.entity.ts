import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const JOB_TRIGGERS = ['schedule', 'manual', 'startup'] as const;
export type JobTrigger = (typeof JOB_TRIGGERS)[number];

/** `abandoned`: a run left `running` by a process that died; set by the next run that takes the lock. */
export const JOB_RUN_STATUSES = ['running', 'succeeded', 'failed', 'skipped', 'abandoned'] as const;
export type JobRunStatus = (typeof JOB_RUN_STATUSES)[number];

/** One execution (or skipped attempt) of a scheduled job, as operators see it in `GET /jobs/{name}/runs`. */
@Entity({ name: 'job_run' })
@Index(['job', 'startedAt'])
@Index(['job', 'status'])
// A scheduled tick runs once across all workers: the second worker's insert for the same tick conflicts.
@Index('UQ_job_run_tick', ['job', 'scheduledFor'], {
  unique: true,
  where: `"trigger" = 'schedule' AND "status" IN ('running', 'succeeded', 'failed')`,
})
export class JobRun {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ type: 'text' })
  job: string;

  @Column({ type: 'text' })
  trigger: JobTrigger;

  @Column({ type: 'text' })
  status: JobRunStatus;

  @Column({ type: 'timestamptz', name: 'started_at' })
  startedAt: Date;

  /** The cron tick a scheduled run belongs to (second precision). */
  @Column({ type: 'timestamptz', name: 'scheduled_for', nullable: true })
  scheduledFor: Date | null;

  @Column({ type: 'timestamptz', name: 'finished_at', nullable: true })
  finishedAt: Date | null;

  @Column({ type: 'integer', name: 'items_read', default: 0 })
  itemsRead: number;

  @Column({ type: 'integer', name: 'items_written', default: 0 })
  itemsWritten: number;

  /** Scrubbed of secrets before it is written. */
  @Column({ type: 'text', nullable: true })
  error: string | null;

  @Column({ type: 'text', name: 'worker_instance' })
  workerInstance: string;

  /** Who asked for a manual run (API principal name). */
  @Column({ type: 'text', name: 'requested_by', nullable: true })
  requestedBy: string | null;

  /** What the job wants remembered about the run (e.g. `{ "mode": "full" }` for a full history walk). */
  @Column({ type: 'jsonb', nullable: true })
  details: Record<string, unknown> | null;
}
