import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { DataSource } from 'typeorm';

/**
 * Data sources found to run behind a transaction-mode pooler without prepared-statement support: a
 * named statement prepared on one server session was missing on the next (26000), or another client's
 * statement of the same name was already there (42P05). Their reads go unnamed from then on.
 */
const unpinnedSessions = new WeakSet<DataSource>();

/** The server answered that a named statement is not where this connection left it (a pooler in between). */
const SESSION_MISMATCH = new Set(['26000', '42P05']);

/**
 * A read sent as a named prepared statement, for the API's hot read routes (issue 18). PostgreSQL plans
 * a statement's text every time it receives it; the routes' statements (correlated subqueries over
 * partitioned tables) cost more to plan than to run: `GET /obligations` planned for 6.3 ms and ran for
 * 2.3 ms on the 10-cycle growth world. A named statement is parsed once per pooled connection and, from
 * its sixth execution, runs on a cached generic plan whenever that plan costs no more than the custom
 * ones (`plan_cache_mode` auto); partitions are still pruned, at execution.
 *
 * The name is the hash of the text: the same text is one statement on every connection, a changed text
 * a new one. Callers build a bounded set of texts (filters as parameters, never values in the text).
 * Directly or behind a session-mode pooler, or PgBouncer 1.21+ with `max_prepared_statements`, that is
 * all. Behind a transaction-mode pooler that does not carry prepared statements, the first read that
 * meets another server session fails with 26000 or 42P05: it is sent again unnamed, the connection whose
 * statement cache no longer matches a session is dropped, and every later read of this data source goes
 * unnamed (README, "Running in production, several instances"; test/foundation/prepared-read-routes.test.ts).
 *
 * Errors: a server error (SQLSTATE) leaves the connection in the pool, as TypeORM's own queries do; one
 * without (the connection failed) drops it. Both reach TypeORM's logger, as its own queries' do.
 */
export async function preparedRows<T>(dataSource: DataSource, text: string, values: unknown[]): Promise<T[]> {
  if (unpinnedSessions.has(dataSource)) return (await dataSource.query(text, values)) as T[];
  const pool = (dataSource.driver as unknown as { master: pg.Pool }).master;
  const name = `klear_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
  dataSource.logger.logQuery(text, values);
  const client = await pool.connect();
  let rows: T[];
  try {
    rows = (await client.query({ name, text, values })).rows as T[];
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const mismatch = typeof code === 'string' && SESSION_MISMATCH.has(code);
    client.release(mismatch || typeof code !== 'string' ? (error as Error) : undefined);
    if (mismatch) {
      unpinnedSessions.add(dataSource);
      return (await dataSource.query(text, values)) as T[];
    }
    dataSource.logger.logQueryError(error as Error, text, values);
    throw error;
  }
  client.release();
  return rows;
}
