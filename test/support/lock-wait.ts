import type { DataSource } from 'typeorm';
import { until } from './poll';

/**
 * Waits until some session of this database waits on a lock (a row, a transaction id or an advisory
 * lock): the moment a transaction started beside a held one has gone as far as it can.
 */
export async function waitUntilBlockedOnALock(dataSource: DataSource): Promise<void> {
  await until(
    'a transaction waiting on a lock',
    async () =>
      (
        (await dataSource.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        )) as Array<{ n: number }>
      )[0].n,
    (n) => n > 0,
  );
}
