import 'reflect-metadata';
import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import type { Clock } from '@app/clock';
import { type AppConfig, productVersion } from '@app/config';
import type { KlearClientOptions } from '@app/klear-client';
import { createValidationPipe, ErrorFilter, securityHeaders, useJsonText } from '@app/http';
import { ApiModule } from './app.module';
import { serveConsole } from './console-static';
import { setupOpenApi } from './openapi';

/** Builds the API application (not listening): used by main, the demo and the tests. */
export async function createApiApplication(
  config: AppConfig,
  /** `shutdownHooks: false`: the caller closes the application on SIGINT/SIGTERM itself (the demo, which stops more than the API). */
  options: { silent?: boolean; clock?: Clock; klearClient?: Partial<KlearClientOptions>; shutdownHooks?: boolean } = {},
): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(
    ApiModule.forRoot(config, { clock: options.clock, klearClient: options.klearClient }),
    {
      // Bodies are read after authentication, with each route's limit (JsonBodyInterceptor).
      bodyParser: false,
      bufferLogs: true,
      abortOnError: false,
      logger: options.silent ? false : undefined,
    },
  );
  if (!options.silent) app.useLogger(app.get(Logger));
  app.set('query parser', 'simple');
  app.set('x-powered-by', false);
  // The client address that failed-authentication limits count by: X-Forwarded-For only from trusted proxies.
  app.set('trust proxy', config.api.trustProxy);
  app.use(securityHeaders('/docs'));
  // Safety net: a bigint that reaches the JSON writer becomes a decimal string, never a throw (and the
  // answers without one, all of them by design, are written on JSON.stringify's fast path).
  useJsonText(app.getHttpAdapter().getInstance());
  // Every API answer is Cache-Control: no-store (securityHeaders): no ETag to hash over each body. The
  // console's static files keep theirs (serve-static and sendFile make their own).
  app.set('etag', false);
  serveConsole(app, config.console.dir);
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ErrorFilter());
  // Nest's hooks close the application on a signal and then re-raise it, ending the process.
  if (options.shutdownHooks !== false) app.enableShutdownHooks();
  // Off by default in production (API_DOCS_ENABLED): the document maps every route for an attacker.
  if (config.api.docsEnabled) setupOpenApi(app, productVersion());
  return app;
}
