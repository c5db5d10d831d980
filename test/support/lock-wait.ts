import type { DataSource } from 'typeorm';
import { until } from './poll';

/**
 * Waits until some session of this database waits on a lock (a row, a transaction id or an advisory
 * lock; `kind`: only that kind, as pg_stat_activity.wait_event names it, e.g. `advisory`): the moment a
 * transaction started beside a held one has gone as far as it can.
 */
export async function waitUntilBlockedOnALock(dataSource: DataSource, kind?: string): Promise<void> {
  await until(
    kind ? `a transaction waiting on a lock (${kind})` : 'a transaction waiting on a lock',
    async () =>
      (
        (await dataSource.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND ($1::text IS NULL OR wait_event = $1)`,
          [kind ?? null],
        )) as Array<{ n: number }>
      )[0].n,
    (n) => n > 0,
  );
}
