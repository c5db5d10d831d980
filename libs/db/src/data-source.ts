import type pg from 'pg';
import { DataSource } from 'typeorm';
import type { DataSourceOptions } from 'typeorm';
import { ALL_MIGRATIONS } from '../../../migrations/index';
import { ALL_ENTITIES } from './entities/index';
import { poolErrorHandler, StallTolerantClient } from './pg-connection';

/**
 * How long opening a new connection may take before the database counts as unavailable (503
 * DATABASE_UNAVAILABLE instead of a request hanging on a dead server).
 */
export const CONNECT_TIMEOUT_MS = 5_000;
/**
 * How long a request may wait for a free pooled connection while every one is busy. A burst (two dozen
 * approvals of one request, serialised on its row lock and the audit chain) on a loaded machine queues
 * for seconds: that is a busy server, not a missing database, so it waits far longer than a connect may take.
 */
export const POOL_WAIT_MS = 60_000;

/**
 * pg-pool uses one `connectionTimeoutMillis` for both waits; each new client gets the short connect
 * timeout, counted in the process's running time (StallTolerantClient).
 */
class BoundedConnectClient extends StallTolerantClient {
  constructor(config?: string | pg.ClientConfig) {
    super({ ...(typeof config === 'string' ? { connectionString: config } : config), connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  }
}

export interface DataSourceSettings {
  url: string;
  poolSize?: number;
  applicationName?: string;
}

/** TypeORM options for the product's schema. `synchronize` is off everywhere: migrations only. */
export function dataSourceOptions(settings: DataSourceSettings): DataSourceOptions {
  return {
    type: 'postgres',
    url: settings.url,
    entities: ALL_ENTITIES,
    migrations: ALL_MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    // gen_random_uuid() is built into PostgreSQL >= 13: no extension to install.
    uuidExtension: 'pgcrypto',
    installExtensions: false,
    migrationsRun: false,
    logging: false,
    poolErrorHandler: poolErrorHandler(settings.applicationName ?? 'klear-backoffice'),
    extra: {
      max: settings.poolSize ?? 10,
      application_name: settings.applicationName ?? 'klear-backoffice',
      Client: BoundedConnectClient,
      // The pool's wait for a free connection; a new connection's own timeout is CONNECT_TIMEOUT_MS.
      connectionTimeoutMillis: POOL_WAIT_MS,
    },
  };
}

export function createDataSource(settings: DataSourceSettings): DataSource {
  return new DataSource(dataSourceOptions(settings));
}
