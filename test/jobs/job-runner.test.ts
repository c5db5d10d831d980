import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClockModule } from '@app/clock';
import { AuditModule } from '@app/audit';
import { APP_CONFIG, type AppConfig, ConfigModule, loadConfig } from '@app/config';
import { DbModule } from '@app/db';
import { JobRegistry, JobRunner, JobRunRepository, JobsModule, type JobContext, type JobHandler, ScheduledJob } from '@app/jobs';
import { createTestDatabase, type TestDatabase } from '@app/testing';

/** A job that waits for the test to release it, so runs can overlap on purpose. */
@Injectable()
@ScheduledJob({ name: 'gated_count', description: 'test job', defaultCron: '0 0 1 1 *' })
class GatedCountJob implements JobHandler {
  gate: Promise<void> = Promise.resolve();
  started = 0;
  async run(context: JobContext): Promise<void> {
    this.started++;
    context.read(3);
    await this.gate;
    context.wrote(2);
    context.setDetails({ mode: 'full' });
  }
}

@Injectable()
@ScheduledJob({ name: 'leaky_failure', description: 'test job', defaultCron: '0 0 1 1 *' })
class LeakyFailureJob implements JobHandler {
  async run(context: JobContext): Promise<void> {
    context.read(1);
    throw new Error(
      'Klear refused: Authorization: Bearer member-1:s3cr3t-token at postgres://ops:hunter2@db:5432/x?X-Amz-Signature=abcdef',
    );
  }
}

@Module({ providers: [GatedCountJob, LeakyFailureJob] })
class TestJobsModule {}

describe('Job runner', () => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  let runner: JobRunner;
  const build = async () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATABASE_URL: db.url,
      JOB_GATED_COUNT_CRON: '*/5 * * * *',
      JOB_LEAKY_FAILURE_ENABLED: 'false',
    });
    const context = await NestFactory.createApplicationContext(
      {
        module: class TestRoot {},
        imports: [
          ConfigModule.forRoot(config),
          ClockModule.forRoot(),
          DbModule.forRoot({ applicationName: 'jobs-test', migrate: false }),
          AuditModule,
          JobsModule.forRoot({ schedule: false }),
          TestJobsModule,
        ],
      },
      { logger: false, abortOnError: false },
    );
    return context;
  };
  beforeAll(async () => {
    db = await createTestDatabase();
    app = await build();
    runner = app.get(JobRunner);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('takes schedule and enabled flag from JOB_<NAME>_CRON and JOB_<NAME>_ENABLED over the defaults', () => {
    const registry = app.get(JobRegistry);
    expect(registry.get('gated_count')).toMatchObject({ cron: '*/5 * * * *', enabled: true });
    expect(registry.get('leaky_failure')).toMatchObject({ cron: '0 0 1 1 *', enabled: false });
  });

  it('records a successful run with its counts, trigger, instance and details', async () => {
    const run = await runner.runToEnd('gated_count', { trigger: 'manual', requestedBy: 'alice' });
    expect(run).toMatchObject({
      job: 'gated_count',
      trigger: 'manual',
      status: 'succeeded',
      itemsRead: 3,
      itemsWritten: 2,
      requestedBy: 'alice',
      workerInstance: runner.instanceId,
      details: { mode: 'full' },
      error: null,
    });
    expect(run!.finishedAt!.getTime()).toBeGreaterThanOrEqual(run!.startedAt.getTime());
    expect(await app.get(JobRunRepository).lastSuccessWith('gated_count', { mode: 'full' })).toMatchObject({ id: run!.id });
  });

  it('skips, and records the skip, when another run of the job holds the advisory lock', async () => {
    const job = app.get(GatedCountJob);
    let release!: () => void;
    job.gate = new Promise((resolve) => (release = resolve));
    const startedBefore = job.started;
    const first = await runner.start('gated_count', { trigger: 'schedule', scheduledFor: new Date('2026-01-01T00:00:00Z') });
    const other = await build();
    const second = await other.get(JobRunner).start('gated_count', { trigger: 'manual' });
    expect(first.run?.status).toBe('running');
    expect(second.run?.status).toBe('skipped');
    expect(second.reason).toBe('another instance holds the job lock');
    release();
    expect((await first.finished)?.status).toBe('succeeded');
    expect(job.started - startedBefore).toBe(1);
    // The same tick again (another worker late for it) is skipped by the per-tick index.
    const late = await other.get(JobRunner).start('gated_count', { trigger: 'schedule', scheduledFor: new Date('2026-01-01T00:00:00Z') });
    expect({ status: late.run?.status, reason: late.reason }).toEqual({
      status: 'skipped',
      reason: 'this tick already ran on another instance',
    });
    await other.close();
  });

  it('records a failing run as failed with the error scrubbed of secrets, without throwing', async () => {
    const run = await runner.runToEnd('leaky_failure', { trigger: 'manual' });
    expect(run).toMatchObject({ status: 'failed', itemsRead: 1 });
    expect(run!.error).toContain('Klear refused');
    for (const secret of ['s3cr3t-token', 'hunter2', 'abcdef']) expect(run!.error).not.toContain(secret);
  });

  it('marks a run left running by a dead process abandoned when the job next runs', async () => {
    const [{ id }] = (await db.dataSource.query(
      `INSERT INTO job_run (job, trigger, status, started_at, worker_instance) VALUES ('gated_count', 'schedule', 'running', now() - interval '1 hour', 'dead-host:1') RETURNING id`,
    )) as Array<{ id: string }>;
    await runner.abandonStaleRuns();
    const [row] = (await db.dataSource.query(`SELECT status, finished_at FROM job_run WHERE id = $1`, [id])) as Array<{
      status: string;
      finished_at: Date | null;
    }>;
    expect(row.status).toBe('abandoned');
    expect(row.finished_at).not.toBeNull();
  });

  it('fails and records the run, without throwing, when the database cannot be reached for the lock', async () => {
    const config = app.get<AppConfig>(APP_CONFIG);
    const broken = new JobRunner(app.get(JobRegistry), app.get(JobRunRepository), {
      ...config,
      database: { ...config.database, url: 'postgres://postgres:x@127.0.0.1:9/nowhere' },
    });
    const started = await broken.start('gated_count', { trigger: 'manual' });
    expect(started.run?.status).toBe('failed');
    expect(started.run?.error).toMatch(/^lock: /);
    expect(await started.finished).toMatchObject({ status: 'failed' });
  });
});
