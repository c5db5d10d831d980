import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { DataSource } from 'typeorm';

/**
 * Data sources found to run behind a transaction-mode pooler without prepared-statement support: a
 * named statement prepared on one server session was missing on the next (26000), or another client's
 * statement of the same name was already there (42P05). Their reads go unnamed from then on.
 */
const unpinnedSessions = new WeakSet<DataSource>();

/** Statement names by text (a bounded set: see preparedRows), so a hot route hashes its text once. */
const names = new Map<string, string>();

function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `klear_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
    if (names.size >= 10_000) names.clear();
    names.set(text, name);
  }
  return name;
}

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
 * a new one. Callers build a bounded set of texts (filters as parameters, never values in the text;
 * a page limit only as one of the sizes `pageLimit` writes).
 * Directly or behind a session-mode pooler, or PgBouncer 1.21+ with `max_prepared_statements`, that is
 * all. Behind a transaction-mode pooler that does not carry prepared statements, the first read that
 * meets another server session fails with 26000 or 42P05: it is sent again unnamed, the connection whose
 * statement cache no longer matches a session is dropped, and every later read of this data source goes
 * unnamed (README, "Running in production, several instances"; test/foundation/prepared-read-routes.test.ts).
 *
 * Errors: a server error (SQLSTATE) leaves the connection in the pool, as TypeORM's own queries do; one
 * without (the connection failed) drops it. Both reach TypeORM's logger, as its own queries' do.
 */
export async function preparedRows<T>(
  dataSource: DataSource,
  text: string,
  values: unknown[],
  options: PreparedReadOptions = {},
): Promise<T[]> {
  const pool = (dataSource.driver as unknown as { master: pg.Pool }).master;
  const types = options.wireText ? WIRE_TEXT : undefined;
  if (unpinnedSessions.has(dataSource)) return unnamedRows<T>(dataSource, pool, text, values, types);
  const name = statementName(text);
  dataSource.logger.logQuery(text, values);
  const client = await pool.connect();
  let rows: T[];
  try {
    rows = (await client.query({ name, text, values, types })).rows as T[];
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const mismatch = typeof code === 'string' && SESSION_MISMATCH.has(code);
    client.release(mismatch || typeof code !== 'string' ? (error as Error) : undefined);
    if (mismatch) {
      unpinnedSessions.add(dataSource);
      return unnamedRows<T>(dataSource, pool, text, values, types);
    }
    dataSource.logger.logQueryError(error as Error, text, values);
    throw error;
  }
  client.release();
  return rows;
}

export interface PreparedReadOptions {
  /**
   * Every column's value as the text the server sent (its type's output function), never parsed by the
   * driver: what a reader compares byte for byte and parses itself, with no cast in the statement that a
   * changed catalog could redirect (AuditRepository.pageFrom).
   */
  wireText?: boolean;
}

/** Type parsers that keep each value as the server's text. */
const WIRE_TEXT = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

/** The same read unnamed (behind a pooler without prepared statements): TypeORM's query, or with `types` the pool's. */
async function unnamedRows<T>(
  dataSource: DataSource,
  pool: pg.Pool,
  text: string,
  values: unknown[],
  types: pg.CustomTypesConfig | undefined,
): Promise<T[]> {
  if (!types) return (await dataSource.query(text, values)) as T[];
  dataSource.logger.logQuery(text, values);
  try {
    return (await pool.query({ text, values, types })).rows as T[];
  } catch (error) {
    dataSource.logger.logQueryError(error as Error, text, values);
    throw error;
  }
}

/**
 * A timestamptz column as the text `Date.prototype.toISOString()` gives for it ("2026-11-19T22:00:00.000Z",
 * milliseconds truncated as the driver's own parsing does): a hot read route formats its timestamps in
 * the server, instead of parsing each row's into a Date and formatting it again.
 */
export const isoTimestampText = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The LIMITs a prepared page read is written with: an API page of 1, 10, 25, 50, 100, 200 or 500 rows, plus the next-page probe. */
const PAGE_SIZES = [2, 11, 26, 51, 101, 201, 501];

/**
 * The LIMIT of a prepared page read, written into its text as a constant, and the cut back to the rows
 * asked for. With the limit as a parameter PostgreSQL costs the generic plan for an unknown LIMIT (a
 * tenth of the table), finds it dearer than the custom plans and so plans the statement again on every
 * call: `GET /subtraders` planned for 0.6 ms and ran for 0.5 ms on the 10,000-subtrader world. Written
 * as a constant, it runs on one cached generic plan. The constant is the limit rounded up to the next
 * page size above, so a route has a handful of texts (prepared statements per connection), whatever
 * limits clients send; the few extra rows are read and dropped. The statement's LIMIT must take the
 * first rows of its result order (a page, then its details).
 */
export function pageLimit(limit: number): { sql: string; take<T>(rows: T[]): T[] } {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`a page limit is a positive integer (got ${limit})`);
  let size = PAGE_SIZES.find((s) => s >= limit) ?? 512;
  while (size < limit) size *= 2; // exact in integers (Math.log2 rounds 2^49 + 1 down)
  return { sql: String(size), take: (rows) => (rows.length > limit ? rows.slice(0, limit) : rows) };
}
