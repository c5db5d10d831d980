import type { MigrationInterface, QueryRunner } from 'typeorm';
import { editFunction } from './function-edits';

/**
 * Two sessions making the same month at once (docs/partitioning-and-retention.md): the first Klear
 * answers of a month are archived together (the worker's jobs; the console's queue and a withdrawal
 * request), and each makes its month and the next before its rows go in. The second waits on the
 * month's advisory lock, then asks `to_regclass` again, but an advisory lock does not make a session
 * read the catalogue changes committed meanwhile (a lock on a table does, unless the statement already
 * holds one of that mode): it still found no partition, and its CREATE TABLE failed with 42P07
 * "already exists" (a 500 on POST /withdrawals in CI; in production, a failed job or request on the
 * first day of a month). The creation (with strays: the detach, move and attach) is now one block whose
 * `duplicate_table` means the month was made meanwhile (when the table of that name is a partition of
 * this one): the no-op the function promises.
 */
const FN = 'archive.ensure_month_create(timestamptz)';
const OPEN: [string, string] = [
  'IF strays = 0 THEN',
  'BEGIN -- a month made meanwhile by another session: duplicate_table\n          IF strays = 0 THEN',
];
// The table found is the month only when it is a partition of this table (the catalogue is fresh by
// then: the failed CREATE locked the parent); anything else of that name is the error it was.
const CLOSE: [string, string] = [
  'END IF;\n          IF t.append_only THEN',
  `END IF;
          EXCEPTION WHEN duplicate_table THEN
            IF NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = to_regclass(format('public.%I', part)) AND i.inhparent = format('public.%I', t.tab)::regclass) THEN
              RAISE;
            END IF;
            CONTINUE;
          END;
          IF t.append_only THEN`,
];

export class MonthMadeByOneOfTwo1796234900000 implements MigrationInterface {
  name = 'MonthMadeByOneOfTwo1796234900000';

  public async up(q: QueryRunner): Promise<void> {
    await editFunction(q, FN, [OPEN, CLOSE]);
  }

  public async down(q: QueryRunner): Promise<void> {
    await editFunction(q, FN, [
      [CLOSE[1], CLOSE[0]],
      [OPEN[1], OPEN[0]],
    ]);
  }
}
