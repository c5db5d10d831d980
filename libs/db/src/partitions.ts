/**
 * Monthly partitions of the tables that grow with every cycle (migration CyclePartitions,
 * docs/partitioning-and-retention.md). partition_ensure_month() creates a month for all of them at
 * once and is a no-op when it exists; writers call it before rows of a month go in, and every
 * archived Klear answer creates the current and the next month ahead of time.
 */
export interface PartitionQueryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/** The partitioned tables, their partition key, and whether the rows are append-only. */
export const CYCLE_PARTITIONED_TABLES = [
  { table: 'klear_settlement_detail', key: 'cycle', appendOnly: false },
  { table: 'klear_margin_detail', key: 'cycle', appendOnly: false },
  { table: 'journal_posting', key: 'cycle_key', appendOnly: true },
  { table: 'recon_break_observation', key: 'cycle_key', appendOnly: false },
  { table: 'klear_response_archive', key: 'received_at', appendOnly: true },
] as const;

/** Makes sure the month of each given time has its partitions (null, '-infinity' and duplicates ignored). */
export async function ensureCyclePartitions(q: PartitionQueryable, times: ReadonlyArray<Date | string | null | undefined>): Promise<void> {
  const distinct = [
    ...new Set(
      times.filter((t): t is Date | string => t !== null && t !== undefined).map((t) => (t instanceof Date ? t.toISOString() : t)),
    ),
  ];
  if (distinct.length === 0) return;
  await q.query(`SELECT partition_ensure_month(t) FROM unnest($1::timestamptz[]) t`, [distinct]);
}

/** The month of `now` and the next one: called on every archived answer, so months exist before their rows. */
export async function ensureCyclePartitionsAhead(q: PartitionQueryable, now: Date): Promise<void> {
  await q.query(`SELECT partition_ensure_month($1::timestamptz), partition_ensure_month($1::timestamptz + interval '1 month')`, [
    now.toISOString(),
  ]);
}

/** Rows that landed in the safety-net default partitions (a healthy database has none). */
export async function defaultPartitionRows(
  q: PartitionQueryable,
): Promise<Array<{ table: string; rows: number; firstKey: Date | null; lastKey: Date | null }>> {
  const rows = (await q.query(
    `SELECT table_name, row_count::int AS row_count, first_key, last_key FROM partition_default_rows()`,
  )) as Array<{
    table_name: string;
    row_count: number;
    first_key: Date | null;
    last_key: Date | null;
  }>;
  return rows.map((r) => ({ table: r.table_name, rows: r.row_count, firstKey: r.first_key, lastKey: r.last_key }));
}
