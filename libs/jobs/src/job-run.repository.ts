import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock } from '@app/clock';
import { JobRun, type JobRunStatus, type JobTrigger } from '@app/db';
import { DataSource } from 'typeorm';

export interface NewRun {
  job: string;
  trigger: JobTrigger;
  workerInstance: string;
  requestedBy?: string | null;
  scheduledFor?: Date | null;
}

/** SQL for job_run. */
@Injectable()
export class JobRunRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  /**
   * Inserts the `running` row. For a scheduled tick another worker may already have run it: the
   * partial unique index refuses the second row and this answers null.
   */
  async insertRunning(run: NewRun): Promise<JobRun | null> {
    const rows = (await this.dataSource.query(
      `INSERT INTO job_run (job, trigger, status, started_at, worker_instance, requested_by, scheduled_for)
       VALUES ($1, $2, 'running', $6, $3, $4, $5)
       ON CONFLICT DO NOTHING RETURNING id`,
      [run.job, run.trigger, run.workerInstance, run.requestedBy ?? null, run.scheduledFor ?? null, this.clock.now()],
    )) as Array<{ id: string }>;
    return rows.length ? this.get(rows[0].id) : null;
  }

  async insertFinished(run: NewRun & { status: JobRunStatus; error?: string | null }): Promise<JobRun> {
    const rows = (await this.dataSource.query(
      `INSERT INTO job_run (job, trigger, status, started_at, finished_at, worker_instance, requested_by, scheduled_for, error)
       VALUES ($1, $2, $3, $8, $8, $4, $5, $6, $7) RETURNING id`,
      [
        run.job,
        run.trigger,
        run.status,
        run.workerInstance,
        run.requestedBy ?? null,
        run.scheduledFor ?? null,
        run.error ?? null,
        this.clock.now(),
      ],
    )) as Array<{ id: string }>;
    return (await this.get(rows[0].id))!;
  }

  async finish(
    id: string,
    outcome: {
      status: JobRunStatus;
      itemsRead: number;
      itemsWritten: number;
      error: string | null;
      details: Record<string, unknown> | null;
    },
  ): Promise<JobRun> {
    await this.dataSource.query(
      `UPDATE job_run SET status = $2, finished_at = $7, items_read = $3, items_written = $4, error = $5, details = $6 WHERE id = $1`,
      [
        id,
        outcome.status,
        outcome.itemsRead,
        outcome.itemsWritten,
        outcome.error,
        outcome.details === null ? null : JSON.stringify(outcome.details),
        this.clock.now(),
      ],
    );
    return (await this.get(id))!;
  }

  /** Called while holding the job's lock: any `running` row of the job belongs to a process that died. */
  async abandonRunning(job: string): Promise<number> {
    const rows = (await this.dataSource.query(
      `UPDATE job_run SET status = 'abandoned', finished_at = $2, error = 'the process running it ended before it finished'
       WHERE job = $1 AND status = 'running' RETURNING id`,
      [job, this.clock.now()],
    )) as [unknown[], number] | unknown[];
    return Array.isArray(rows[0]) ? (rows as [unknown[], number])[1] : rows.length;
  }

  get(id: string): Promise<JobRun | null> {
    return this.dataSource.getRepository(JobRun).findOneBy({ id });
  }

  /** Newest first; `before` is the (started_at, id) of the previous page's last row. */
  list(job: string, limit: number, before?: { startedAt: string; id: string }): Promise<JobRun[]> {
    const qb = this.dataSource
      .getRepository(JobRun)
      .createQueryBuilder('r')
      .where('r.job = :job', { job })
      .orderBy('r.started_at', 'DESC')
      .addOrderBy('r.id', 'DESC')
      .limit(limit);
    if (before) qb.andWhere('(r.started_at, r.id) < (:startedAt, :id)', { startedAt: before.startedAt, id: before.id });
    return qb.getMany();
  }

  /** The latest run and the latest successful run of every job. */
  async latest(): Promise<Map<string, { last: JobRun | null; lastSuccess: JobRun | null }>> {
    const repo = this.dataSource.getRepository(JobRun);
    const last = await repo
      .createQueryBuilder('r')
      .distinctOn(['r.job'])
      .orderBy('r.job')
      .addOrderBy('r.started_at', 'DESC')
      .addOrderBy('r.id', 'DESC')
      .getMany();
    const ok = await repo
      .createQueryBuilder('r')
      .distinctOn(['r.job'])
      .where(`r.status = 'succeeded'`)
      .orderBy('r.job')
      .addOrderBy('r.started_at', 'DESC')
      .addOrderBy('r.id', 'DESC')
      .getMany();
    const out = new Map<string, { last: JobRun | null; lastSuccess: JobRun | null }>();
    for (const r of last) out.set(r.job, { last: r, lastSuccess: null });
    for (const r of ok) out.set(r.job, { last: out.get(r.job)?.last ?? r, lastSuccess: r });
    return out;
  }

  /** The latest successful run of a job whose details contain `details` (jsonb containment). */
  async lastSuccessWith(job: string, details: Record<string, unknown>): Promise<JobRun | null> {
    return this.dataSource
      .getRepository(JobRun)
      .createQueryBuilder('r')
      .where('r.job = :job', { job })
      .andWhere(`r.status = 'succeeded'`)
      .andWhere('r.details @> :d::jsonb', { d: JSON.stringify(details) })
      .orderBy('r.started_at', 'DESC')
      .limit(1)
      .getOne();
  }
}
