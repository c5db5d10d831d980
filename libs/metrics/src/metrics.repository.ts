import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** The age buckets of open breaks (label `age`). */
const BREAK_AGE_BUCKETS = `CASE WHEN age < interval '1 day' THEN 'lt_1d' WHEN age < interval '7 days' THEN '1d_to_7d' ELSE 'ge_7d' END`;

/** The key pulls readiness watches and their tables. */
export const KEY_PULLS = {
  balance: 'SELECT max(pulled_at) AS at FROM klear_balance_snapshot',
  active_obligations: 'SELECT max(pulled_at) AS at FROM klear_active_obligation_pull',
  estimate: 'SELECT max(pulled_at) AS at FROM klear_estimate_snapshot',
} as const;
export type KeyPull = keyof typeof KEY_PULLS;

/** What the metrics read from the database at scrape time (jobs, breaks, withdrawals, outbox), and this process's pool. */
@Injectable()
export class MetricsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** When each job last succeeded. */
  lastSuccesses(): Promise<Array<{ job: string; at: Date }>> {
    return this.q(`SELECT job, max(finished_at) AS at FROM job_run WHERE status = 'succeeded' GROUP BY job`);
  }

  /** Each job's last finished run: its outcome and duration. */
  lastRunDurations(): Promise<Array<{ job: string; status: string; seconds: number }>> {
    return this.q(
      `SELECT DISTINCT ON (job) job, status, extract(epoch FROM finished_at - started_at)::float8 AS seconds FROM job_run WHERE finished_at IS NOT NULL ORDER BY job, finished_at DESC, id DESC`,
    );
  }

  runCounts(): Promise<Array<{ job: string; status: string; n: number }>> {
    return this.q(`SELECT job, status, count(*)::int AS n FROM job_run GROUP BY job, status`);
  }

  /** Open breaks by check and age bucket at `now`. */
  openBreaksByAge(now: Date): Promise<Array<{ check: string; age: string; n: number }>> {
    return this.q(
      `SELECT "check", ${BREAK_AGE_BUCKETS} AS age, count(*)::int AS n FROM (SELECT "check", $1::timestamptz - created_at AS age FROM recon_break WHERE status = 'open') b GROUP BY 1, 2`,
      [now],
    );
  }

  oldestOpenBreaks(): Promise<Array<{ check: string; at: Date }>> {
    return this.q(`SELECT "check", min(created_at) AS at FROM recon_break WHERE status = 'open' GROUP BY 1`);
  }

  withdrawalsByState(): Promise<Array<{ state: string; n: number }>> {
    return this.q(`SELECT state, count(*)::int AS n FROM withdrawal_request GROUP BY state`);
  }

  /** When the oldest withdrawal waiting for approval was requested (null: none waits). */
  async oldestPendingApproval(): Promise<Date | null> {
    const [r] = await this.q<{ at: Date | null }>(`SELECT min(created_at) AS at FROM withdrawal_request WHERE state = 'pending_approval'`);
    return r?.at ?? null;
  }

  async outboxBacklog(): Promise<{ unfanned: number; pending: number; sending: number }> {
    const [r] = await this.q<{ unfanned: number; pending: number; sending: number }>(
      `SELECT (SELECT count(*)::int FROM notification_outbox WHERE fanned_out_at IS NULL) AS unfanned,
            (SELECT count(*)::int FROM notification_delivery WHERE status = 'pending') AS pending,
            (SELECT count(*)::int FROM notification_delivery WHERE status = 'sending') AS sending`,
    );
    return r;
  }

  async failedDeliveries(): Promise<number> {
    const [r] = await this.q<{ n: number }>(`SELECT count(*)::int AS n FROM notification_delivery WHERE status = 'failed'`);
    return r.n;
  }

  /** The outcome of the last finished audit_chain_check run, or undefined when it never ran. */
  async lastAuditChainCheck(): Promise<string | undefined> {
    const [r] = await this.q<{ status: string }>(
      `SELECT status FROM job_run WHERE job = 'audit_chain_check' AND status IN ('succeeded', 'failed') ORDER BY finished_at DESC, id DESC LIMIT 1`,
    );
    return r?.status;
  }

  /** When a key pull last stored its answer (null: never). */
  async lastPull(pull: KeyPull): Promise<Date | null> {
    const [r] = await this.q<{ at: Date | null }>(KEY_PULLS[pull]);
    return r?.at ?? null;
  }

  /** This process's pool: total, idle and waiting clients (undefined when the driver does not tell). */
  poolStats(): { totalCount: number; idleCount: number; waitingCount: number } | undefined {
    return (this.dataSource.driver as unknown as { master?: { totalCount: number; idleCount: number; waitingCount: number } }).master;
  }

  private async q<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.dataSource.query(sql, params)) as T[];
  }
}
