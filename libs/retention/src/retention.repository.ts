import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { AdvisoryLocks, CYCLE_PARTITIONED_TABLES, dedicatedPgClient, lockForTransaction } from '@app/db';
import { to as copyTo } from 'pg-copy-streams';
import type { DataSource, EntityManager } from 'typeorm';

/** A month as YYYY-MM (UTC) and its bounds. */
export const monthStart = (month: string): Date => new Date(`${month}-01T00:00:00.000Z`);
export const nextMonth = (month: string): Date => {
  const d = monthStart(month);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
};

/** Breaks still to work: their rows stay. Resolved and closed breaks are decided. */
const OPEN_BREAK_STATUSES = ['open', 'acknowledged', 'pending_write_off'];
/** Withdrawal states nothing follows (withdrawal-states.ts). */
const FINAL_WITHDRAWAL_STATES = ['processed', 'failed', 'rejected', 'cancelled', 'expired'];

/** The SQL of retention: what a month holds, what needs it, and the partition functions of migration CyclePartitions. */
export class RetentionRepository {
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /** Months held in the hot tables (a partition of any partitioned table), oldest first. */
  async heldMonths(runner: DataSource | EntityManager = this.dataSource): Promise<string[]> {
    const rows = (await runner.query(
      `SELECT DISTINCT substring(c.relname from '_p([0-9]{6})$') AS m
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND p.relname = ANY($1) AND c.relname ~ '_p[0-9]{6}$' ORDER BY 1`,
      [CYCLE_PARTITIONED_TABLES.map((t) => t.table)],
    )) as Array<{ m: string }>;
    return rows.map((r) => `${r.m.slice(0, 4)}-${r.m.slice(4)}`);
  }

  /** Another retention run's step on the same month waits until this transaction ends. */
  async holdMonth(m: EntityManager, month: string): Promise<void> {
    await lockForTransaction(m, AdvisoryLocks.retentionMonth(month));
  }

  /** New breaks and withdrawals wait until the month is decided. */
  async holdOffBreaksAndWithdrawals(m: EntityManager): Promise<void> {
    await m.query(`LOCK TABLE recon_break, withdrawal_request IN SHARE MODE`);
  }

  /** Why a month must stay in the hot tables (empty: it may go). `cutoff`: the oldest time kept. */
  async reasonsToKeep(m: EntityManager, month: string, cutoff: Date): Promise<string[]> {
    const lo = monthStart(month);
    const hi = nextMonth(month);
    const reasons: string[] = [];
    const breaks = (await m.query(
      `SELECT id::text, break_key, cycle FROM recon_break WHERE status = ANY($3) AND cycle >= $1 AND cycle < $2 ORDER BY recon_break.id LIMIT 5`,
      [lo, hi, OPEN_BREAK_STATUSES],
    )) as Array<{ id: string; break_key: string; cycle: Date }>;
    for (const b of breaks) reasons.push(`open break ${b.id} (${b.break_key}) of cycle ${b.cycle.toISOString()} needs its rows`);
    const withdrawals = (await m.query(
      `SELECT id::text, state, created_at FROM withdrawal_request WHERE NOT (state = ANY($2)) AND created_at < $1 ORDER BY created_at LIMIT 5`,
      [hi, FINAL_WITHDRAWAL_STATES],
    )) as Array<{ id: string; state: string; created_at: Date }>;
    for (const w of withdrawals)
      reasons.push(
        `unresolved withdrawal ${w.id} (${w.state}, created ${w.created_at.toISOString()}) may need Klear answers archived from then on`,
      );
    const [buffer] = (await m.query(
      `SELECT count(*)::int AS n FROM journal_posting WHERE cycle_key >= $1 AND cycle_key < $2 AND account = 'settlement_buffer'`,
      [lo, hi],
    )) as Array<{ n: number }>;
    if (buffer.n > 0) reasons.push(`${buffer.n} settlement_buffer posting(s): the buffer's running balance sums every one of them`);
    const [previous] = (await m.query(`SELECT max(execution_time) AS at FROM klear_obligation WHERE execution_time < $1`, [
      cutoff,
    ])) as Array<{ at: Date | null }>;
    if (previous.at && previous.at >= lo && previous.at < hi) {
      reasons.push(`cycle ${previous.at.toISOString()} is the previous cycle of the oldest kept cycle (its margin deltas read it)`);
    }
    return reasons;
  }

  /** Rows of each partitioned table in the month. */
  async rowCounts(m: EntityManager, month: string): Promise<Array<{ table: string; rows: number }>> {
    const suffix = `_p${month.replace('-', '')}`;
    const out: Array<{ table: string; rows: number }> = [];
    for (const t of CYCLE_PARTITIONED_TABLES) {
      const [{ exists }] = (await m.query(`SELECT to_regclass($1) IS NOT NULL AS exists`, [`public.${t.table}${suffix}`])) as Array<{
        exists: boolean;
      }>;
      if (!exists) continue;
      // Through the partitioned table (the application role holds nothing on a partition), its key
      // bounding the month: the plan reads that partition only.
      const [{ n }] = (await m.query(`SELECT count(*)::int AS n FROM "${t.table}" WHERE "${t.key}" >= $1 AND "${t.key}" < $2`, [
        monthStart(month),
        nextMonth(month),
      ])) as Array<{ n: number }>;
      out.push({ table: t.table, rows: n });
    }
    return out;
  }

  /** Detaches the month into the archive schema (read-only there), its summaries with it. */
  async archiveMonth(m: EntityManager, month: string): Promise<Array<{ table: string; archivedAs: string; rows: number }>> {
    const rows = (await m.query(`SELECT table_name, archived_as, row_count::int AS rows FROM partition_archive_month($1)`, [
      monthStart(month),
    ])) as Array<{
      table_name: string;
      archived_as: string;
      rows: number;
    }>;
    return rows.map((r) => ({ table: r.table_name, archivedAs: r.archived_as, rows: r.rows }));
  }

  async dropArchived(m: EntityManager, month: string): Promise<number> {
    const [{ n }] = (await m.query(`SELECT partition_drop_archived($1) AS n`, [monthStart(month)])) as Array<{ n: number }>;
    return n;
  }

  async restoreMonth(m: EntityManager, month: string): Promise<number> {
    const [{ n }] = (await m.query(`SELECT partition_restore_month($1) AS n`, [monthStart(month)])) as Array<{ n: number }>;
    return n;
  }

  /** Writes each archived table as gzip'd COPY text to its path, all from one snapshot, timestamps in UTC. */
  async copyOut(tables: Array<{ archivedAs: string; path: string }>): Promise<void> {
    const client = dedicatedPgClient({ connectionString: (this.dataSource.options as { url?: string }).url }, 'retention export');
    await client.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // The files are the same bytes whatever the server's or the session's time zone and date style:
      // timestamps in UTC (+00), ISO dates. A checksum of an archive must not depend on where it was made.
      await client.query(`SET LOCAL TimeZone = 'UTC'`);
      await client.query(`SET LOCAL DateStyle = 'ISO, YMD'`);
      await client.query(`SET LOCAL IntervalStyle = 'postgres'`);
      for (const t of tables) {
        const [schema, name] = t.archivedAs.split('.');
        const { rows } = await client.query<{ q: string; partitioned: boolean }>(
          `SELECT f.q, c.relkind = 'p' AS partitioned FROM (SELECT format('%I.%I', $1::text, $2::text) AS q) f JOIN pg_class c ON c.oid = f.q::regclass`,
          [schema, name],
        );
        // A month of observations filed by day is a partitioned table, which COPY reads only through a query.
        const source = rows[0].partitioned ? `(SELECT * FROM ${rows[0].q})` : rows[0].q;
        await pipeline(client.query(copyTo(`COPY ${source} TO STDOUT`)), createGzip({ level: 6 }), createWriteStream(t.path));
      }
      await client.query('COMMIT');
    } finally {
      await client.end();
    }
  }
}
