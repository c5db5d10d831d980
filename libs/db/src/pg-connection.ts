import { Logger } from '@nestjs/common';
import pg from 'pg';
import { type DataSource, QueryFailedError } from 'typeorm';

const logger = new Logger('Database');

interface ErrorEmitter {
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * A lost database connection must never kill a process (README, "Database outages"): node-postgres
 * emits 'error' on a client or pool whose connection dies (a restart, `pg_terminate_backend`, a
 * network cut) and an 'error' event without a listener crashes Node. Every client and pool the product
 * creates goes through here: the error is logged and handed to `onError` (a lock or a lease marks
 * itself lost); the next query on that client fails and its caller answers as for any database error
 * (503 DATABASE_UNAVAILABLE in the API, a failed job run in the worker).
 */
export function survivesConnectionLoss<T extends ErrorEmitter>(target: T, what: string, onError?: (error: Error) => void): T {
  target.on('error', (error: Error) => {
    logger.warn(`${what}: connection lost: ${error.message}`);
    onError?.(error);
  });
  return target;
}

/** How often a connect timeout looks at the clock (see connectTimeout). */
export const CONNECT_WATCH_INTERVAL_MS = 250;

/**
 * A connect timeout that counts only the time this process was running. node-postgres's own
 * (`connectionTimeoutMillis`) is one timer; when the process was not scheduled for longer than the
 * timeout (a loaded machine, a long garbage collection, a synchronous block), Node runs due timers
 * before it reads the sockets, so that timer fires while the server's answer waits unread, and a
 * healthy database is reported unavailable (503 DATABASE_UNAVAILABLE). This one looks every
 * CONNECT_WATCH_INTERVAL_MS and counts at most twice that per look: a longer gap was the process not
 * running, not the server not answering. A server that never answers still times out after `limitMs`
 * of running time. A process that runs, only slowly (looks 300 ms apart on a starved machine), counts
 * its wall time: only a gap longer than two intervals is discounted.
 */
export function connectTimeout(limitMs: number, onTimeout: () => void): { stop(): void } {
  let counted = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    counted += Math.min(now - last, 2 * CONNECT_WATCH_INTERVAL_MS);
    last = now;
    if (counted >= limitMs) {
      clearInterval(timer);
      onTimeout();
    }
  }, CONNECT_WATCH_INTERVAL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

const NO_WATCH = { stop: () => undefined };

type ConnectCallback = Parameters<pg.Client['connect']>[0] & object;

/**
 * A node-postgres client whose `connectionTimeoutMillis` is a connectTimeout (running time, not wall
 * time); on expiry it ends the attempt as node-postgres's own timeout does ('timeout expired').
 */
export class StallTolerantClient extends pg.Client {
  private readonly connectLimitMs: number;
  private watch: { stop(): void } = NO_WATCH;

  constructor(config?: string | pg.ClientConfig) {
    const options = typeof config === 'string' ? { connectionString: config } : (config ?? {});
    super({ ...options, connectionTimeoutMillis: 0 });
    this.connectLimitMs = options.connectionTimeoutMillis ?? 0;
  }

  override connect(): Promise<pg.Client>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.Client> | void {
    // One watch per client: a second connect() replaces the first's callback inside node-postgres, so
    // the first watch would never be stopped and would later cut a connection that had succeeded.
    this.watch.stop();
    const watch =
      this.connectLimitMs > 0
        ? connectTimeout(this.connectLimitMs, () => {
            // node-postgres's own expiry, as it does it: mark the end as ours, then cut the socket.
            const connection = (this as unknown as { connection: { _ending: boolean; stream: { destroy(error: Error): void } } })
              .connection;
            connection._ending = true;
            connection.stream.destroy(new Error('timeout expired'));
          })
        : NO_WATCH;
    this.watch = watch;
    if (callback) {
      super.connect(((...answer: unknown[]) => {
        watch.stop();
        (callback as (...answer: unknown[]) => void)(...answer);
      }) as ConnectCallback);
      return;
    }
    return super.connect().finally(() => watch.stop());
  }
}

/** A dedicated connection (an advisory lock, an admin task) that survives the loss of its server. */
export function dedicatedPgClient(config: pg.ClientConfig, what: string, onError?: (error: Error) => void): pg.Client {
  return survivesConnectionLoss(new StallTolerantClient(config), what, onError);
}

/**
 * Guards every connection of a TypeORM DataSource's pool, idle or checked out: TypeORM listens only
 * while a query runner holds a connection and pg-pool only while it is idle; this listener stays for
 * the connection's whole life.
 */
export function guardDataSourcePool(dataSource: DataSource, what: string): void {
  const pool = (dataSource.driver as unknown as { master?: pg.Pool & { _clients?: pg.PoolClient[] } }).master;
  if (!pool) return;
  pool.on('connect', (client) => void survivesConnectionLoss(client, what));
  for (const client of pool._clients ?? []) survivesConnectionLoss(client, what);
}

/** The pool-level handler TypeORM installs on its pool (idle connections that die). */
export function poolErrorHandler(what: string): (error: Error) => void {
  return (error) => logger.warn(`${what}: idle pool connection lost: ${error.message}`);
}

const DB_DOWN_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P02', '57P03', '08006', '08001', '08003', '53300']);

/**
 * An error that means the database cannot be reached or refuses work now (a lost or refused
 * connection, a connect or pool timeout, too many connections): the API answers 503 DATABASE_UNAVAILABLE.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { code?: string; message?: string; driverError?: { code?: string } } | null;
  if (!e) return false;
  const code = e.code ?? e.driverError?.code;
  if (code && DB_DOWN_CODES.has(code)) return true;
  // 55000 with this text: the database refuses connections for now (ALLOW_CONNECTIONS false, maintenance).
  return /Connection terminated|timeout exceeded when trying to connect|^timeout expired$|Client has encountered a connection error|connect ECONNREFUSED|is not currently accepting connections/i.test(
    e.message ?? '',
  );
}

/** An error of the database itself: unavailable (above), or a statement it refused (TypeORM's or node-postgres's). */
export function isDatabaseError(error: unknown): boolean {
  return isDatabaseUnavailable(error) || error instanceof QueryFailedError || error instanceof pg.DatabaseError;
}
