/**
 * Runs `work` (statements reading whole cycles out of their month partitions) with sequential and
 * plain index scans off, then puts both back to their defaults (after success): bitmap scans read each page of the
 * cycle once, in physical order, and no other cycle's page. PostgreSQL costs a scan of one cycle as if
 * its rows were spread over the month (they are contiguous), so from some cycles into a month it read
 * the whole month instead (docs/partitioning-and-retention.md: the full growth world's day-10 workbook
 * and day-30 reconciliation). `q` must be in a transaction (the workbook's snapshot, a reconciliation
 * run's): SET LOCAL ends with it whatever happens. Afterwards both are at the server's defaults, not at
 * what they were before the call: not for callers that set either themselves (none does), nor nested.
 */
export async function withCycleScans<T>(q: { query(sql: string): Promise<unknown> }, work: () => Promise<T>): Promise<T> {
  await q.query('SET LOCAL enable_seqscan = off');
  await q.query('SET LOCAL enable_indexscan = off');
  // Put back after success only: a failed statement has aborted the transaction (a SET would fail
  // and hide its error), and the caller's transaction ends on any error anyway.
  const result = await work();
  await q.query('SET LOCAL enable_seqscan TO DEFAULT');
  await q.query('SET LOCAL enable_indexscan TO DEFAULT');
  return result;
}
