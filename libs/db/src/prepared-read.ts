import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { DataSource } from 'typeorm';

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
 * Behind a transaction-mode pooler the pooler must carry protocol-level prepared statements (PgBouncer
 * 1.21+ with `max_prepared_statements`); README, "Deploying".
 */
export async function preparedRows<T>(dataSource: DataSource, text: string, values: unknown[]): Promise<T[]> {
  const pool = (dataSource.driver as unknown as { master: pg.Pool }).master;
  const name = `klear_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
  // Handed to TypeORM's logger as its own queries are (query logging, statement counts in tests).
  dataSource.logger.logQuery(text, values);
  return (await pool.query({ name, text, values })).rows as T[];
}
