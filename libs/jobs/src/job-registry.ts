import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { NotFound } from '@app/errors';
import { validateCronExpression } from 'cron';
import { SCHEDULED_JOB, type JobDefinition, type JobHandler } from './scheduled-job';

export interface RegisteredJob {
  definition: JobDefinition;
  handler: JobHandler;
  /** Effective schedule and flag: configuration over the job's defaults. */
  cron: string;
  enabled: boolean;
}

export class JobConfigurationError extends Error {}

/** Every job of this process, found through `@ScheduledJob` on providers. */
@Injectable()
export class JobRegistry implements OnModuleInit {
  private readonly jobs = new Map<string, RegisteredJob>();

  constructor(
    private readonly discovery: DiscoveryService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as JobHandler | undefined;
      if (!instance || !wrapper.metatype) continue;
      const definition = Reflect.getMetadata(SCHEDULED_JOB, wrapper.metatype) as JobDefinition | undefined;
      if (definition) this.register(definition, instance);
    }
  }

  register(definition: JobDefinition, handler: JobHandler): void {
    if (!/^[a-z][a-z0-9_]*$/.test(definition.name)) throw new JobConfigurationError(`job name ${definition.name}: expected snake_case`);
    if (this.jobs.has(definition.name)) throw new JobConfigurationError(`job ${definition.name} is registered twice`);
    const override = this.config.jobs[definition.name] ?? {};
    const cron = override.cron ?? definition.defaultCron;
    const check = validateCronExpression(cron);
    if (!check.valid) {
      const source = override.cron ? `JOB_${definition.name.toUpperCase()}_CRON` : `job ${definition.name} default schedule`;
      throw new JobConfigurationError(`${source}: not a valid cron expression (${check.error?.message ?? 'invalid'})`);
    }
    this.jobs.set(definition.name, { definition, handler, cron, enabled: override.enabled ?? definition.defaultEnabled ?? true });
  }

  all(): RegisteredJob[] {
    return [...this.jobs.values()].sort((a, b) => a.definition.name.localeCompare(b.definition.name));
  }

  find(name: string): RegisteredJob | undefined {
    return this.jobs.get(name);
  }

  get(name: string): RegisteredJob {
    const job = this.jobs.get(name);
    if (!job) throw new NotFound('job', name);
    return job;
  }
}
