import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createDataSource, runMigrationsLocked, dedicatedPgClient } from '@app/db';

export interface TestDatabase {
  /** Connection URL of this test's own database. */
  url: string;
  dataSource: DataSource;
  /** Row count of a table, for "nothing was written" assertions. */
  count(table: string): Promise<number>;
  drop(): Promise<void>;
}

export function testAdminUrl(): string {
  const url = process.env.KLEAR_TEST_ADMIN_URL;
  if (!url) throw new Error('KLEAR_TEST_ADMIN_URL is not set: run tests through jest (test/setup/global-setup.mjs)');
  return url;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Creates an empty database on the test server, without migrations. */
export async function createEmptyDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = testAdminUrl();
  const name = `klear_t_${randomBytes(6).toString('hex')}`;
  const client = dedicatedPgClient({ connectionString: admin }, 'test database admin');
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return {
    url: withDatabase(admin, name),
    drop: async () => {
      const c = dedicatedPgClient({ connectionString: admin }, 'test database admin');
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A fresh database with every migration applied, owned by one test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const empty = await createEmptyDatabase();
  const dataSource = createDataSource({ url: empty.url, poolSize: 5, applicationName: 'klear-test' });
  await dataSource.initialize();
  await runMigrationsLocked(dataSource);
  return {
    url: empty.url,
    dataSource,
    count: async (table) => {
      const rows = (await dataSource.query(`SELECT count(*)::int AS n FROM ${table}`)) as Array<{ n: number }>;
      return rows[0].n;
    },
    drop: async () => {
      if (dataSource.isInitialized) await dataSource.destroy();
      await empty.drop();
    },
  };
}
