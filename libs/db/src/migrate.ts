import type { DataSource } from 'typeorm';
import { AdvisoryLocks, lockForSession, unlockSession } from './advisory-locks';
import { createDataSource } from './data-source';

/**
 * Applies pending migrations while holding a session-level advisory lock, so that several API and
 * worker instances starting together migrate once and the others wait, then find nothing to do.
 * Returns the names of the migrations this call applied.
 */
export async function runMigrationsLocked(dataSource: DataSource, options: { appRole?: string } = {}): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await lockForSession(runner, AdvisoryLocks.migrations);
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      if (options.appRole) await grantApplicationRole(dataSource, options.appRole);
      return applied.map((m) => m.name);
    } finally {
      await unlockSession(runner, AdvisoryLocks.migrations);
    }
  } finally {
    await runner.release();
  }
}

/** Names of migrations known to the code but not applied to the database. */
export async function pendingMigrations(dataSource: DataSource): Promise<string[]> {
  const executed = new Set<string>(
    (await dataSource.query(`SELECT name FROM schema_migrations`).catch(() => [] as Array<{ name: string }>)).map(
      (r: { name: string }) => r.name,
    ),
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

/** Tables that are append-only (triggers refuse UPDATE/DELETE): the application role is not even granted them. */
export const APPEND_ONLY_TABLES = ['audit_log', 'audit_checkpoint', 'klear_response_archive', 'export_file', 'ledger_import_rejection'];

/**
 * Gives the application role (DATABASE_URL's user when migrations run as another, the schema
 * owner) exactly what the API, the worker and the CLI need: read and write rows, use sequences and
 * functions; never UPDATE or DELETE on append-only tables, nothing on a partition (rows go through
 * the partitioned table). It owns nothing, so it cannot ALTER,
 * DROP, TRUNCATE or DISABLE TRIGGER, and as a non-superuser it cannot SET session_replication_role
 * (docs/security.md, "Database roles"). Run by the owner after every migration run.
 */
export async function grantApplicationRole(dataSource: DataSource, appRole: string): Promise<void> {
  const [{ role }] = (await dataSource.query('SELECT quote_ident($1) AS role', [appRole])) as Array<{ role: string }>;
  await dataSource.transaction(async (m) => {
    await m.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await m.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
    await m.query(`REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM ${role}`);
    await m.query(`REVOKE UPDATE, DELETE ON ${APPEND_ONLY_TABLES.join(', ')} FROM ${role}`);
    // Rows go through the partitioned tables only: their statement triggers (the ledger's posting check,
    // the summaries) do not fire for a partition written directly. Months made later by
    // partition_ensure_month (run as the owner) are never granted.
    const partitions = (await m.query(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relispartition AND c.relkind IN ('r', 'p') ORDER BY 1`,
    )) as Array<{ name: string }>;
    for (const p of partitions) await m.query(`REVOKE ALL ON ${p.name} FROM ${role}`);
    await m.query(`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
    await m.query(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO ${role}`);
  });
}

/** The role a connection URL logs in as. */
export function roleOfUrl(url: string): string {
  return decodeURIComponent(new URL(url).username);
}

/**
 * Migrates through a separate connection as the schema owner (`migrationUrl`), then grants the
 * application role (the user of `appUrl`) its rights when it is another role.
 */
export async function migrateAs(migrationUrl: string, appUrl: string | undefined): Promise<string[]> {
  const owner = createDataSource({ url: migrationUrl, poolSize: 2, applicationName: 'klear-migrate' });
  await owner.initialize();
  try {
    const appRole = appUrl ? roleOfUrl(appUrl) : undefined;
    return await runMigrationsLocked(owner, { appRole: appRole && appRole !== roleOfUrl(migrationUrl) ? appRole : undefined });
  } finally {
    await owner.destroy();
  }
}
