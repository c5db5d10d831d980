import type pg from 'pg';
import type { DataSource } from 'typeorm';

/**
 * Shared buffers a phase of the bench touches in its database (issue 18): `blks_hit + blks_read` of
 * `pg_stat_database` for the bench database, read before and after the phase. Unlike wall time on a
 * shared machine, this does not depend on the load of the machine: it counts the pages the plans
 * read (from shared buffers or from the OS), so a query that scans history shows up as growth however
 * fast the disk cache answers it.
 *
 * PostgreSQL 15+ keeps these counters in shared memory but each backend flushes its own share at most
 * once a second when it goes idle (otherwise later, or when it exits). Before each reading every idle
 * connection of the data source's pool runs `pg_stat_force_next_flush()`: the backend then flushes its
 * pending counts as it goes idle after that statement, i.e. before the client sees the answer. A
 * connection the phase opened on its own and closed flushes as its backend exits, before the socket
 * closes. The reading itself runs in a transaction of its own after `pg_stat_clear_snapshot()`, so no
 * cached snapshot is answered.
 *
 * What else touches the same database in the meantime counts too: autovacuum (the bench turns it off
 * on its own throwaway database, see `quietAutovacuum`), and the reading's own catalogue lookups (a
 * few dozen buffers, the same every time).
 */
export interface BufferCounts {
  hit: number;
  read: number;
}

export async function readBufferCounts(dataSource: DataSource): Promise<BufferCounts> {
  await flushPoolStats(dataSource);
  return dataSource.transaction(async (tx) => {
    await tx.query('SELECT pg_stat_clear_snapshot()');
    const [row] = (await tx.query(
      `SELECT blks_hit::text AS hit, blks_read::text AS read FROM pg_stat_database WHERE datname = current_database()`,
    )) as Array<{ hit: string; read: string }>;
    return { hit: Number(row.hit), read: Number(row.read) };
  });
}

/** Buffers touched (hit + read) between two readings. */
export function buffersTouched(before: BufferCounts, after: BufferCounts): number {
  return after.hit - before.hit + (after.read - before.read);
}

/** One statement's share of a phase (pg_stat_statements): shared buffers touched, executions, its text's opening. */
export interface StatementBuffers {
  buffers: number;
  calls: number;
  query: string;
}

/**
 * Runs `phase` and answers its result with the shared buffers touched meanwhile in the database and,
 * when `heaviest` is given and the server records statements (pg_stat_statements, loaded by the bench's
 * embedded server), the `heaviest` statements of the phase by buffers: where a phase's growth went.
 */
export async function countingBuffers<T>(
  dataSource: DataSource,
  phase: () => Promise<T>,
  heaviest?: number,
): Promise<{ result: T; buffers: number; statements?: StatementBuffers[] }> {
  const statementStats = heaviest !== undefined && (await resetStatementStats(dataSource));
  const before = await readBufferCounts(dataSource);
  const result = await phase();
  const after = await readBufferCounts(dataSource);
  const statements = statementStats ? await heaviestStatements(dataSource, heaviest) : undefined;
  return { result, buffers: buffersTouched(before, after), ...(statements ? { statements } : {}) };
}

async function resetStatementStats(dataSource: DataSource): Promise<boolean> {
  return dataSource.query('SELECT pg_stat_statements_reset()').then(
    () => true,
    () => false,
  );
}

/** The statements recorded in this database since the last reset, heaviest first (`limit` null: all), leaving out the readings' own. */
async function heaviestStatements(dataSource: DataSource, limit: number | null): Promise<StatementBuffers[]> {
  const rows = (await dataSource.query(
    `SELECT (shared_blks_hit + shared_blks_read)::text AS buffers, calls::text AS calls, left(regexp_replace(query, '\\s+', ' ', 'g'), 140) AS query
       FROM pg_stat_statements
      WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%pg_stat_statements%'
      ORDER BY shared_blks_hit + shared_blks_read DESC LIMIT $1`,
    [limit],
  )) as Array<{ buffers: string; calls: string; query: string }>;
  return rows.map((r) => ({ buffers: Number(r.buffers), calls: Number(r.calls), query: r.query }));
}

/**
 * Shared buffers the statements run during `work` touched in this database, by pg_stat_statements:
 * each statement's counts are added as it ends, whichever connection (or process) ran it, so a
 * request served by another pool (the API's) counts without a flush. Undefined where the server does
 * not record statements (a DATABASE_URL server without the extension).
 */
export async function statementBuffers(
  dataSource: DataSource,
  work: () => Promise<void>,
): Promise<{ buffers: number; statements: StatementBuffers[] } | undefined> {
  if (!(await resetStatementStats(dataSource))) return undefined;
  await work();
  const statements = await heaviestStatements(dataSource, null);
  return { buffers: statements.reduce((sum, s) => sum + s.buffers, 0), statements };
}

/** Log lines of a phase's heaviest statements. */
export function statementLines(statements: StatementBuffers[] | undefined): string[] {
  return (statements ?? []).map((s) => `    ${s.buffers} buffers, ${s.calls} call(s): ${s.query}`);
}

/**
 * Every idle connection of the pool flushes its pending statistics: as many clients are checked out at
 * once as the pool holds (so each idle one is handed out exactly once), each runs the flush request.
 */
async function flushPoolStats(dataSource: DataSource): Promise<void> {
  const pool = (dataSource.driver as unknown as { master?: pg.Pool }).master;
  if (!pool) throw new Error('the data source has no connection pool');
  const idle = pool.idleCount;
  const clients = await Promise.all(Array.from({ length: Math.max(idle, 1) }, () => pool.connect()));
  try {
    for (const client of clients) await client.query('SELECT pg_stat_force_next_flush()');
  } finally {
    for (const client of clients) client.release();
  }
}

/**
 * Autovacuum off on every table of the bench's own throwaway database (the bench runs ANALYZE where
 * its loads need it): a background worker vacuuming history between two readings would count its
 * buffers against the phase being measured.
 */
export async function quietAutovacuum(dataSource: DataSource): Promise<void> {
  const tables = (await dataSource.query(
    `SELECT c.oid::regclass::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND c.relkind IN ('r', 'm')`,
  )) as Array<{ name: string }>;
  for (const { name } of tables) await dataSource.query(`ALTER TABLE ${name} SET (autovacuum_enabled = false)`);
}
