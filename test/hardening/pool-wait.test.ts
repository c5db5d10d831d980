import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';
import {
  CONNECT_TIMEOUT_MS,
  connectTimeout,
  createDataSource,
  dataSourceOptions,
  dedicatedPgClient,
  isDatabaseUnavailable,
  POOL_WAIT_MS,
  StallTolerantClient,
} from '@app/db';
import { createEmptyDatabase } from '@app/testing';

/**
 * A busy pool is not a missing database. Under load, two dozen approvals of one request serialise on its
 * row lock and hold every pooled connection for seconds; a request queued behind them must wait, not
 * answer 503 DATABASE_UNAVAILABLE as it did when one 5 s timeout covered both waits. A server that
 * never answers a new connection still counts as unavailable after the short connect timeout.
 * The pool's timers run on Jest's fake clock, so nothing here depends on how fast the machine is.
 */
/** The process does not run for `ms` (a synchronous block: what a long GC or a starved machine does to it). */
const blockProcess = (ms: number) => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

describe('database pool waits', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  const settle = <T>(p: Promise<T>) => {
    const state: { done: boolean; value?: T; error?: unknown } = { done: false };
    p.then(
      (value) => Object.assign(state, { done: true, value }),
      (error: unknown) => Object.assign(state, { done: true, error }),
    );
    return state;
  };
  const until = async (condition: () => boolean) => {
    for (let i = 0; i < 10_000 && !condition(); i++) await new Promise((r) => setImmediate(r));
    expect(condition()).toBe(true);
  };

  it('a query queued behind a busy pool outlasts the connect timeout and runs once a connection is free; only past the pool wait is it unavailable', async () => {
    const empty = await createEmptyDatabase();
    const ds = createDataSource({ url: empty.url, poolSize: 1 });
    await ds.initialize();
    const pool = (ds.driver as unknown as { master: pg.Pool }).master;
    const holder = ds.createQueryRunner();
    try {
      await holder.connect();
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      const queued = settle(ds.query('SELECT 1 AS one') as Promise<Array<{ one: number }>>);
      await until(() => pool.waitingCount === 1);
      jest.advanceTimersByTime(CONNECT_TIMEOUT_MS * 3);
      await new Promise((r) => setImmediate(r));
      expect({ done: queued.done, waiting: pool.waitingCount }).toEqual({ done: false, waiting: 1 });
      await holder.release();
      await until(() => queued.done);
      expect(queued).toEqual({ done: true, value: [{ one: 1 }] });

      // Held again: a waiter still queued when the pool wait ends is refused as unavailable (503).
      await holder.connect();
      const starved = settle(ds.query('SELECT 2 AS two'));
      await until(() => pool.waitingCount === 1);
      jest.advanceTimersByTime(POOL_WAIT_MS + 1);
      await until(() => starved.done);
      expect(isDatabaseUnavailable(starved.error)).toBe(true);
    } finally {
      jest.useRealTimers();
      await holder.release();
      await ds.destroy();
      await empty.drop();
    }
  });

  it('a server that accepts the connection and never answers counts as unavailable after the connect timeout', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    const { extra } = dataSourceOptions({ url: `postgres://nobody@127.0.0.1:${port}/nothing` }) as { extra: pg.PoolConfig };
    const pool = new pg.Pool({ ...extra, connectionString: `postgres://nobody@127.0.0.1:${port}/nothing` });
    pool.on('error', () => undefined);
    try {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      const attempt = settle(pool.connect());
      await until(() => sockets.length === 1);
      jest.advanceTimersByTime(CONNECT_TIMEOUT_MS - 1);
      await new Promise((r) => setImmediate(r));
      expect(attempt.done).toBe(false);
      jest.advanceTimersByTime(2);
      await until(() => attempt.done);
      expect(isDatabaseUnavailable(attempt.error)).toBe(true);
    } finally {
      jest.useRealTimers();
      for (const s of sockets) s.destroy();
      await pool.end();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('a stall of the process longer than the connect timeout does not expire it (a one-timer timeout does); running time still does', async () => {
    // The product's connect timeout against node-postgres's kind (one timer of the same length), both
    // started together; then the process does not run for 2.5 s, two and a half times the limit (a synchronous
    // block, as a long GC or a starved machine gives).
    const limitMs = 1_000;
    let expired = false;
    const ended = new Promise<void>((resolve) => {
      connectTimeout(limitMs, () => {
        expired = true;
        resolve();
      });
    });
    const oneTimer = new Promise<boolean>((resolve) => setTimeout(() => resolve(expired), limitMs));
    blockProcess(2_500);
    // The one timer fires as soon as the process runs again; the connect timeout had its look first
    // (its interval was due earlier) and counted the stall as two intervals, not 2.5 s.
    await expect(oneTimer).resolves.toBe(false);
    // A server that still does not answer: the timeout ends the attempt after enough running time.
    await ended;
    expect(expired).toBe(true);
  });

  it("a healthy database reached across a stall of the process connects (node-postgres's own timeout reports it unavailable)", async () => {
    const empty = await createEmptyDatabase();
    // The stall comes right after node-postgres sent its startup message on the open socket: the server
    // answers while this process does not run, and the answer waits unread. 2.5 s, longer than the 2 s
    // limit; the product's timeout counts it as two looks (500 ms), leaving 1.5 s of running time for
    // the rest of the handshake (two more round trips).
    const stall = () => blockProcess(2_500);
    const attempt = async (client: pg.Client) => {
      client.on('error', () => undefined);
      const connecting = client.connect().then(
        () => 'connected',
        (error: Error) => error.message,
      );
      // Added after connect(): node-postgres's own 'connect' listener (it sends the startup message) runs first.
      (client as unknown as { connection: { once(event: 'connect', listener: () => void): void } }).connection.once('connect', stall);
      const outcome = await connecting;
      await client.end().catch(() => undefined);
      return outcome;
    };
    try {
      const limits = { connectionString: empty.url, connectionTimeoutMillis: 2_000 };
      expect(await attempt(new pg.Client(limits))).toBe('timeout expired');
      expect(await attempt(dedicatedPgClient(limits, 'stall test'))).toBe('connected');
    } finally {
      await empty.drop();
    }
  });

  it("the pool's connections and every dedicated one use the stall-tolerant connect timeout", () => {
    const { extra } = dataSourceOptions({ url: 'postgres://nobody@127.0.0.1:9/nothing' }) as { extra: { Client: typeof pg.Client } };
    expect(extra.Client.prototype).toBeInstanceOf(StallTolerantClient);
    expect(dedicatedPgClient({ connectionTimeoutMillis: 1 }, 'class check')).toBeInstanceOf(StallTolerantClient);
  });

  it('a second connect() of one client leaves one watch: the first never cuts the connection that came up', async () => {
    const empty = await createEmptyDatabase();
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const client = dedicatedPgClient({ connectionString: empty.url, connectionTimeoutMillis: 5_000 }, 'connect twice');
    try {
      const first = settle(client.connect());
      // node-postgres refuses the second call and hands the first attempt's completion to its callback.
      const second = settle(client.connect());
      const [{ one }] = (await client.query('SELECT 1 AS one')).rows as Array<{ one: number }>;
      expect(one).toBe(1);
      // Far past the limit: a watch left running from the first call would cut the socket now.
      jest.advanceTimersByTime(60_000);
      await new Promise((resolve) => setImmediate(resolve));
      const [{ two }] = (await client.query('SELECT 2 AS two')).rows as Array<{ two: number }>;
      expect({ two, first: first.done, second: (second.error as Error | undefined)?.message }).toEqual({
        two: 2,
        first: false,
        second: 'Client has already been connected. You cannot reuse a client.',
      });
    } finally {
      jest.useRealTimers();
      await client.end().catch(() => undefined);
      await empty.drop();
    }
  });
});
