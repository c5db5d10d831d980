import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional } from 'class-validator';
import type { JobRun } from '@app/db';
import type { JobOverview } from '@app/jobs';

export class RunJobQuery {
  @ApiPropertyOptional({ description: 'wait for the run to finish and answer its final state', default: false })
  @IsOptional()
  @Transform(({ value }) => value === true || value === 'true' || value === '1')
  @IsBoolean()
  wait?: boolean;
}

export function jobRunView(r: JobRun) {
  return {
    id: r.id,
    job: r.job,
    trigger: r.trigger,
    status: r.status,
    scheduled_for: r.scheduledFor?.toISOString() ?? null,
    started_at: r.startedAt.toISOString(),
    finished_at: r.finishedAt?.toISOString() ?? null,
    items_read: r.itemsRead,
    items_written: r.itemsWritten,
    error: r.error,
    worker_instance: r.workerInstance,
    requested_by: r.requestedBy,
    details: r.details,
  };
}

export function jobView(o: JobOverview) {
  return {
    name: o.job.definition.name,
    description: o.job.definition.description,
    schedule: o.job.cron,
    schedule_time_zone: 'UTC',
    enabled: o.job.enabled,
    last_run: o.lastRun ? jobRunView(o.lastRun) : null,
    last_success: o.lastSuccess ? jobRunView(o.lastSuccess) : null,
  };
}
