import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig, jobStaleness } from '@app/config';
import { type KlearRequestObservation, klearRequestObservers } from '@app/klear-client';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
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

/**
 * Every metric of the product (docs/notifications.md, "Metrics"), in one prom-client registry per
 * process. Klear requests and job durations are counted as they happen in this process; everything
 * read from the database (job ages, breaks, withdrawals, outbox, audit status) is computed at
 * scrape time, so any process shows the same figures.
 */
@Injectable()
export class MetricsService implements OnModuleInit, OnApplicationShutdown {
  readonly registry = new Registry();
  private readonly logger = new Logger('Metrics');
  private readonly observer = (o: KlearRequestObservation) => this.observeKlear(o);
  private readonly klearRequests: Counter<'endpoint' | 'status'>;
  private readonly klearLatency: Histogram<'endpoint'>;
  private readonly klear429: Counter<'endpoint'>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'klear_process_' });
    this.klearRequests = new Counter({
      name: 'klear_api_requests_total',
      help: 'Requests to the Klear API by endpoint and HTTP status (or error)',
      labelNames: ['endpoint', 'status'],
      registers,
    });
    this.klearLatency = new Histogram({
      name: 'klear_api_request_duration_seconds',
      help: 'Latency of Klear API requests',
      labelNames: ['endpoint'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.klear429 = new Counter({
      name: 'klear_api_rate_limited_total',
      help: 'Klear API answers 429 (rate limited) by endpoint',
      labelNames: ['endpoint'],
      registers,
    });
    const self = this;
    const dbGauge = <L extends string>(name: string, help: string, labelNames: L[], read: (g: Gauge<L>) => Promise<void>) =>
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        async collect() {
          this.reset();
          try {
            await read(this);
          } catch (error) {
            self.logger.warn(`${name}: not collected: ${(error as Error).message}`);
          }
        },
      });
    const now = () => this.clock.now();
    dbGauge('klear_job_last_success_age_seconds', 'Seconds since each job last succeeded', ['job'], async (g) => {
      for (const r of await this.q<{ job: string; at: Date }>(
        `SELECT job, max(finished_at) AS at FROM job_run WHERE status = 'succeeded' GROUP BY job`,
      ))
        g.set({ job: r.job }, secondsSince(now(), r.at));
    });
    dbGauge('klear_job_stale_after_seconds', 'Configured staleness of each job (JOB_<NAME>_STALE_SECONDS)', ['job'], async (g) => {
      for (const [job, seconds] of Object.entries(jobStaleness(this.config))) g.set({ job }, seconds);
    });
    dbGauge('klear_job_last_run_duration_seconds', "Duration of each job's last finished run", ['job', 'status'], async (g) => {
      const rows = await this.q<{ job: string; status: string; seconds: number }>(
        `SELECT DISTINCT ON (job) job, status, extract(epoch FROM finished_at - started_at)::float8 AS seconds FROM job_run WHERE finished_at IS NOT NULL ORDER BY job, finished_at DESC, id DESC`,
      );
      for (const r of rows) g.set({ job: r.job, status: r.status }, Number(r.seconds));
    });
    dbGauge('klear_job_runs', 'Recorded runs of each job by outcome (all time)', ['job', 'status'], async (g) => {
      for (const r of await this.q<{ job: string; status: string; n: number }>(
        `SELECT job, status, count(*)::int AS n FROM job_run GROUP BY job, status`,
      ))
        g.set({ job: r.job, status: r.status }, r.n);
    });
    dbGauge('klear_breaks_open', 'Open reconciliation breaks by check and age bucket', ['check', 'age'], async (g) => {
      const rows = await this.q<{ check: string; age: string; n: number }>(
        `SELECT "check", ${BREAK_AGE_BUCKETS} AS age, count(*)::int AS n FROM (SELECT "check", $1::timestamptz - created_at AS age FROM recon_break WHERE status = 'open') b GROUP BY 1, 2`,
        [now()],
      );
      for (const r of rows) g.set({ check: r.check, age: r.age }, r.n);
    });
    dbGauge('klear_breaks_open_oldest_age_seconds', 'Age of the oldest open break per check', ['check'], async (g) => {
      for (const r of await this.q<{ check: string; at: Date }>(
        `SELECT "check", min(created_at) AS at FROM recon_break WHERE status = 'open' GROUP BY 1`,
      ))
        g.set({ check: r.check }, secondsSince(now(), r.at));
    });
    dbGauge('klear_withdrawals', 'Withdrawal requests by state', ['state'], async (g) => {
      for (const r of await this.q<{ state: string; n: number }>(`SELECT state, count(*)::int AS n FROM withdrawal_request GROUP BY state`))
        g.set({ state: r.state }, r.n);
    });
    dbGauge(
      'klear_withdrawal_oldest_pending_approval_age_seconds',
      'Age of the oldest withdrawal waiting for approval (0: none)',
      [],
      async (g) => {
        const [r] = await this.q<{ at: Date | null }>(
          `SELECT min(created_at) AS at FROM withdrawal_request WHERE state = 'pending_approval'`,
        );
        g.set(r?.at ? secondsSince(now(), r.at) : 0);
      },
    );
    dbGauge(
      'klear_notification_outbox_backlog',
      'Notifications not yet delivered: outbox rows not fanned out, deliveries pending or being sent',
      ['stage'],
      async (g) => {
        const [r] = await this.q<{ unfanned: number; pending: number; sending: number }>(
          `SELECT (SELECT count(*)::int FROM notification_outbox WHERE fanned_out_at IS NULL) AS unfanned,
                (SELECT count(*)::int FROM notification_delivery WHERE status = 'pending') AS pending,
                (SELECT count(*)::int FROM notification_delivery WHERE status = 'sending') AS sending`,
        );
        g.set({ stage: 'outbox' }, r.unfanned);
        g.set({ stage: 'pending' }, r.pending);
        g.set({ stage: 'sending' }, r.sending);
      },
    );
    dbGauge('klear_notification_deliveries_failed', 'Notification deliveries given up (failed)', [], async (g) => {
      const [r] = await this.q<{ n: number }>(`SELECT count(*)::int AS n FROM notification_delivery WHERE status = 'failed'`);
      g.set(r.n);
    });
    dbGauge(
      'klear_audit_chain_ok',
      'Last audit chain verification (audit_chain_check job): 1 verified, 0 failed, -1 not run yet',
      [],
      async (g) => {
        const [r] = await this.q<{ status: string }>(
          `SELECT status FROM job_run WHERE job = 'audit_chain_check' AND status IN ('succeeded', 'failed') ORDER BY finished_at DESC, id DESC LIMIT 1`,
        );
        g.set(r ? (r.status === 'succeeded' ? 1 : 0) : -1);
      },
    );
    dbGauge(
      'klear_key_pull_age_seconds',
      'Seconds since each key Klear pull (balance, active obligations, estimate); absent: never pulled',
      ['pull'],
      async (g) => {
        for (const [pull, sql] of Object.entries(KEY_PULLS)) {
          const [r] = await this.q<{ at: Date | null }>(sql);
          if (r?.at) g.set({ pull }, secondsSince(now(), r.at));
        }
      },
    );
    dbGauge('klear_db_pool_connections', 'Database pool of this process: total, idle and waiting clients', ['state'], async (g) => {
      const pool = (this.dataSource.driver as unknown as { master?: { totalCount: number; idleCount: number; waitingCount: number } })
        .master;
      if (!pool) return;
      g.set({ state: 'total' }, pool.totalCount);
      g.set({ state: 'idle' }, pool.idleCount);
      g.set({ state: 'waiting' }, pool.waitingCount);
      g.set({ state: 'max' }, this.config.database.poolSize);
    });
  }

  onModuleInit(): void {
    klearRequestObservers.add(this.observer);
  }

  onApplicationShutdown(): void {
    klearRequestObservers.delete(this.observer);
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  private observeKlear(o: KlearRequestObservation): void {
    this.klearRequests.inc({ endpoint: o.endpoint, status: String(o.status) });
    this.klearLatency.observe({ endpoint: o.endpoint }, o.seconds);
    if (o.status === 429) this.klear429.inc({ endpoint: o.endpoint });
  }

  private async q<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.dataSource.query(sql, params)) as T[];
  }
}

function secondsSince(now: Date, at: Date): number {
  return Math.max(0, (now.getTime() - new Date(at).getTime()) / 1000);
}
