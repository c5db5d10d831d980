import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** A withdrawal waiting for a decision or its execution, close to its expiry. */
export interface ExpiringWithdrawal {
  id: string;
  amount: string;
  requester_id: string;
  requester_name: string;
  state: string;
  approval_round: number;
  expires_at: Date;
}

/** What OperationsWatch reads to find the conditions nobody's action announces (withdrawals, job runs, breaks). */
@Injectable()
export class OperationsWatchRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Pending or approved requests expiring after `now` and at or before `until`, by id. */
  async expiringWithdrawals(now: Date, until: Date): Promise<ExpiringWithdrawal[]> {
    return (await this.dataSource.query(
      `SELECT id::text, amount_centicents::text AS amount, requester_id::text, requester_name, state, approval_round, expires_at FROM withdrawal_request
        WHERE state IN ('pending_approval', 'approved') AND expires_at > $1 AND expires_at <= $2 ORDER BY withdrawal_request.id`,
      [now, until],
    )) as ExpiringWithdrawal[];
  }

  /** Each job's last successful run (id and end). */
  async lastSuccesses(): Promise<Array<{ job: string; id: string; finished_at: Date }>> {
    return (await this.dataSource.query(
      `SELECT DISTINCT ON (job) job, id::text, finished_at FROM job_run WHERE status = 'succeeded' ORDER BY job, finished_at DESC, job_run.id DESC`,
    )) as Array<{ job: string; id: string; finished_at: Date }>;
  }

  /** Open breaks created at or before `cutoff`, per check: how many, the oldest, the sum of absolute differences (centicents). */
  async openBreaksSince(cutoff: Date): Promise<Array<{ check: string; n: number; oldest: Date; total: string }>> {
    return (await this.dataSource.query(
      `SELECT "check", count(*)::int AS n, min(created_at) AS oldest, sum(abs(difference_centicents))::text AS total FROM recon_break WHERE status = 'open' AND created_at <= $1 GROUP BY 1 ORDER BY 1`,
      [cutoff],
    )) as Array<{ check: string; n: number; oldest: Date; total: string }>;
  }
}
