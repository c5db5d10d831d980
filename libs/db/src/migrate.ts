import type { DataSource } from 'typeorm';

/** Advisory lock key shared by every instance that migrates this database ("klear-migrate"). */
export const MIGRATION_LOCK_KEY = 0x6b6c6d69n;

/**
 * Applies pending migrations while holding a session-level advisory lock, so that several API and
 * worker instances starting together migrate once and the others wait, then find nothing to do.
 * Returns the names of the migrations this call applied.
 */
export async function runMigrationsLocked(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()]);
    }
  } finally {
    await runner.release();
  }
}

/** Names of migrations known to the code but not applied to the database. */
export async function pendingMigrations(dataSource: DataSource): Promise<string[]> {
  const executed = new Set<string>(
    (await dataSource
      .query(`SELECT name FROM schema_migrations`)
      .catch(() => [] as Array<{ name: string }>)).map((r: { name: string }) => r.name),
  );
  return dataSource.migrations.map((m) => m.name ?? m.constructor.name).filter((n) => !executed.has(n));
}

/**
 * The SQL that would bring the database to the entities' shape. Empty when entities and migrations
 * agree; the drift test and `db:migration:generate` use it.
 */
export async function schemaDrift(dataSource: DataSource): Promise<{ up: string[]; down: string[] }> {
  const sql = await dataSource.driver.createSchemaBuilder().log();
  return {
    up: sql.upQueries.map((q) => q.query),
    down: sql.downQueries.map((q) => q.query),
  };
}
