import { Injectable } from '@nestjs/common';
import { AuditService } from '@app/audit';
import type { JobRun } from '@app/db';
import { JobRegistry, type RegisteredJob } from './job-registry';
import { JobRunner, type StartedRun } from './job-runner';
import { JobRunRepository } from './job-run.repository';

export interface JobOverview {
  job: RegisteredJob;
  lastRun: JobRun | null;
  lastSuccess: JobRun | null;
}

/** What the API shows and does about jobs. */
@Injectable()
export class JobsService {
  constructor(
    private readonly registry: JobRegistry,
    private readonly runner: JobRunner,
    private readonly runs: JobRunRepository,
    private readonly audit: AuditService,
  ) {}

  async overview(): Promise<JobOverview[]> {
    const latest = await this.runs.latest();
    return this.registry.all().map((job) => ({
      job,
      lastRun: latest.get(job.definition.name)?.last ?? null,
      lastSuccess: latest.get(job.definition.name)?.lastSuccess ?? null,
    }));
  }

  listRuns(name: string, limit: number, before?: { startedAt: string; id: string }): Promise<JobRun[]> {
    this.registry.get(name);
    return this.runs.list(name, limit, before);
  }

  /**
   * Runs the job now in this process, under the same advisory lock as the scheduled runs (so it is
   * skipped, and says so, when a worker is running it). The request is audited.
   */
  async runNow(name: string, requestedBy: string): Promise<StartedRun> {
    this.registry.get(name);
    const started = await this.runner.start(name, { trigger: 'manual', requestedBy });
    await this.audit.record({
      actor: requestedBy,
      action: 'job.run_requested',
      entityType: 'job',
      entityId: name,
      toState: started.run?.status ?? 'not_started',
      reason: started.reason ?? null,
      details: { run_id: started.run?.id ?? null },
    });
    return started;
  }
}
