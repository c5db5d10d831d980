import { createDataSource, runMigrationsLocked, startThrowawayPostgres, dedicatedPgClient } from '@app/db';
import { KlearClient } from '@app/klear-client';
import type { DataSource } from 'typeorm';
import type { RunningKlearSimulator } from '@apps/klear-sim';
import { systemClock } from '@app/clock';

export interface BenchDatabase {
  url: string;
  dataSource: DataSource;
  /** Where it runs: "DATABASE_URL" or "embedded (fsync off)". */
  origin: string;
  /** Whether the database records per-statement figures (pg_stat_statements): the embedded server does. */
  statementStats: boolean;
  close(): Promise<void>;
}

/**
 * A fresh database for this run (on `adminUrl`'s server, else on a throwaway embedded server) with
 * every migration applied; dropped again on close.
 */
export async function openBenchDatabase(adminUrl: string | undefined): Promise<BenchDatabase> {
  const embedded = adminUrl
    ? undefined
    : await startThrowawayPostgres({ prefix: 'klear-bench-pg', preloadLibraries: ['pg_stat_statements'] });
  const serverUrl = adminUrl ?? embedded!.adminUrl;
  const name = `klear_bench_${process.pid}_${systemClock.nowMs()}`;
  const admin = dedicatedPgClient({ connectionString: serverUrl }, 'bench database admin');
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const dataSource = createDataSource({ url: url.toString(), poolSize: 20, applicationName: 'klear-bench' });
  await dataSource.initialize();
  await runMigrationsLocked(dataSource);
  // Where the server has it loaded (ours; a DATABASE_URL server may not): which statements a phase's buffers went to.
  const statementStats = await dataSource
    .query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')
    .then(() => dataSource.query('SELECT count(*) FROM pg_stat_statements'))
    .then(
      () => true,
      () => false,
    );
  return {
    statementStats,
    url: url.toString(),
    dataSource,
    origin: embedded ? 'embedded PostgreSQL (temp dir, fsync off)' : 'DATABASE_URL server (fresh database)',
    close: async () => {
      await dataSource.destroy();
      const dropper = dedicatedPgClient({ connectionString: serverUrl }, 'bench database admin');
      await dropper.connect();
      await dropper.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await dropper.end();
      await embedded?.destroy();
    },
  };
}

/** A client of the bench's simulator at tier prime, unlimited: the fetches are not what is timed. */
export function simulatorClient(sim: RunningKlearSimulator): KlearClient {
  return new KlearClient({
    baseUrl: sim.url,
    credentials: { mode: 'bearer', adminUserId: sim.options.adminUserId, accessToken: sim.options.accessToken },
    tier: 'prime',
    timeoutMs: 600_000,
    maxRetries: 0,
  });
}
