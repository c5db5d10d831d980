import { DataSource } from 'typeorm';
import type { DataSourceOptions } from 'typeorm';
import { ALL_MIGRATIONS } from '../../../migrations/index';
import { ALL_ENTITIES } from './entities/index';
import { poolErrorHandler } from './pg-connection';

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
      // Keep a dead database from hanging requests forever (503 instead).
      connectionTimeoutMillis: 5000,
    },
  };
}

export function createDataSource(settings: DataSourceSettings): DataSource {
  return new DataSource(dataSourceOptions(settings));
}
