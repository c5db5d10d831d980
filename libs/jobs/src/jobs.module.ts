import { DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { JobRegistry } from './job-registry';
import { JobRunRepository } from './job-run.repository';
import { JobRunner } from './job-runner';
import { JobScheduler } from './job-scheduler';
import { JobsService } from './jobs.service';

/**
 * The job framework. `schedule: true` (the worker) puts jobs on their cron; the API imports it
 * without scheduling, to list runs and run a job on request.
 */
@Module({})
export class JobsModule {
  static forRoot(options: { schedule: boolean }): DynamicModule {
    return {
      module: JobsModule,
      global: true,
      imports: [DiscoveryModule],
      providers: [JobRegistry, JobRunRepository, JobRunner, JobsService, ...(options.schedule ? [JobScheduler] : [])],
      exports: [JobRegistry, JobRunRepository, JobRunner, JobsService, ...(options.schedule ? [JobScheduler] : [])],
    };
  }
}
