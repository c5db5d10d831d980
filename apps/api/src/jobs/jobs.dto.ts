import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional } from 'class-validator';
import { JOB_RUN_STATUSES, JOB_TRIGGERS, type JobRun } from '@app/db';
import type { JobOverview } from '@app/jobs';
import { nullableText } from '../openapi-properties';

export class RunJobQuery {
  @ApiPropertyOptional({ description: 'wait for the run to finish and answer its final state', default: false })
  @IsOptional()
  @Transform(({ value }) => value === true || value === 'true' || value === '1')
  @IsBoolean()
  wait?: boolean;
}

export class JobRunView {
  @ApiProperty({ example: '812' }) id: string;
  @ApiProperty({ example: 'balance_history' }) job: string;
  @ApiProperty({ enum: JOB_TRIGGERS }) trigger: string;
  @ApiProperty({ enum: JOB_RUN_STATUSES }) status: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) scheduled_for: string | null;
  @ApiProperty({ format: 'date-time' }) started_at: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) finished_at: string | null;
  @ApiProperty({ example: 120 }) items_read: number;
  @ApiProperty({ example: 3 }) items_written: number;
  @ApiProperty(nullableText()) error: string | null;
  @ApiProperty({ example: 'worker-1', description: 'the process that ran it' }) worker_instance: string;
  @ApiProperty(nullableText('demo-operator')) requested_by: string | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: "the job's own account of the run (pages, cursors, unmapped fields, ...)",
  })
  details: Record<string, unknown> | null;
}

export class JobView {
  @ApiProperty({ example: 'balance_history' }) name: string;
  @ApiProperty() description: string;
  @ApiProperty({ example: '*/5 * * * *', description: 'cron, in schedule_time_zone' }) schedule: string;
  @ApiProperty({ example: 'UTC' }) schedule_time_zone: string;
  @ApiProperty() enabled: boolean;
  @ApiProperty({ type: JobRunView, nullable: true }) last_run: JobRunView | null;
  @ApiProperty({ type: JobRunView, nullable: true }) last_success: JobRunView | null;
}

export class JobsView {
  @ApiProperty({ type: [JobView] }) data: JobView[];
}

export class JobRunOutcomeView {
  @ApiProperty({ enum: ['started', 'skipped', 'finished', 'not_started'] }) outcome: string;
  @ApiPropertyOptional({ description: 'why it was skipped or not started' }) reason?: string;
  @ApiProperty({ type: JobRunView, nullable: true }) run: JobRunView | null;
}

export function jobRunView(r: JobRun): JobRunView {
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

export function jobView(o: JobOverview): JobView {
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
