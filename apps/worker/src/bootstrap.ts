import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import type { Clock } from '@app/clock';
import type { AppConfig } from '@app/config';
import type { KlearClientOptions } from '@app/klear-client';
import { WorkerModule } from './worker.module';

/**
 * Builds and starts the worker (migrations, then the start-up catch-up, then the schedules): used by
 * main, the demo and the tests. Close it to stop schedules and wait for running jobs.
 */
export async function createWorkerApplication(
  config: AppConfig,
  options: { silent?: boolean; klearClient?: Partial<KlearClientOptions>; clock?: Clock } = {},
): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(
    WorkerModule.forRoot(config, { klearClient: options.klearClient, clock: options.clock }),
    {
      bufferLogs: true,
      logger: options.silent ? false : undefined,
    },
  );
  if (!options.silent) app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  await app.init();
  return app;
}
