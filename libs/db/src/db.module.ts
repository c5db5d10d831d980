import { DynamicModule, Inject, Logger, Module, OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source';
import { migrateAs, pendingMigrations, runMigrationsLocked } from './migrate';
import { guardDataSourcePool } from './pg-connection';

/**
 * At start-up: with DATABASE_MIGRATE_ON_START (the default), applies pending migrations, as the
 * schema owner (DATABASE_MIGRATION_URL) when it is set, granting the application role its rights;
 * otherwise only reports pending migrations (readiness stays not ready until `db:migrate` runs).
 */
class MigrationsOnStart implements OnModuleInit {
  private readonly logger = new Logger('Migrations');
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    const { url, migrationUrl, migrateOnStart } = this.config.database;
    if (!migrateOnStart) {
      const pending = await pendingMigrations(this.dataSource);
      if (pending.length)
        this.logger.error(`${pending.length} migration(s) pending (${pending.join(', ')}): run db:migrate as the schema owner`);
      return;
    }
    const applied = migrationUrl ? await migrateAs(migrationUrl, url) : await runMigrationsLocked(this.dataSource);
    this.logger.log(applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'schema up to date');
  }
}

/** Every pooled connection keeps an 'error' listener for its whole life (see guardDataSourcePool). */
class PoolGuard implements OnModuleInit {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  onModuleInit(): void {
    guardDataSourcePool(this.dataSource, 'pool');
  }
}

@Module({})
export class DbModule {
  /**
   * The TypeORM connection, built from `config.database.url` (resolved before bootstrap, see
   * resolveDatabase), with migrations applied at start-up under an advisory lock.
   */
  static forRoot(options: { applicationName: string; migrate?: boolean }): DynamicModule {
    return {
      module: DbModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig) => {
            if (!config.database.url) throw new Error('database url not resolved before bootstrap');
            return dataSourceOptions({
              url: config.database.url,
              poolSize: config.database.poolSize,
              applicationName: options.applicationName,
            });
          },
        }),
      ],
      providers: options.migrate === false ? [PoolGuard] : [PoolGuard, MigrationsOnStart],
    };
  }
}
