import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig, jobStaleness } from '@app/config';
import { type KlearRequestObservation, klearRequestObservers } from '@app/klear-client';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { KEY_PULLS, type KeyPull, MetricsRepository } from './metrics.repository';

export { KEY_PULLS, type KeyPull } from './metrics.repository';

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
    private readonly repository: MetricsRepository,
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
      for (const r of await this.repository.lastSuccesses()) g.set({ job: r.job }, secondsSince(now(), r.at));
    });
    dbGauge('klear_job_stale_after_seconds', 'Configured staleness of each job (JOB_<NAME>_STALE_SECONDS)', ['job'], async (g) => {
      for (const [job, seconds] of Object.entries(jobStaleness(this.config))) g.set({ job }, seconds);
    });
    dbGauge('klear_job_last_run_duration_seconds', "Duration of each job's last finished run", ['job', 'status'], async (g) => {
      for (const r of await this.repository.lastRunDurations()) g.set({ job: r.job, status: r.status }, Number(r.seconds));
    });
    dbGauge('klear_job_runs', 'Recorded runs of each job by outcome (all time)', ['job', 'status'], async (g) => {
      for (const r of await this.repository.runCounts()) g.set({ job: r.job, status: r.status }, r.n);
    });
    dbGauge('klear_breaks_open', 'Open reconciliation breaks by check and age bucket', ['check', 'age'], async (g) => {
      for (const r of await this.repository.openBreaksByAge(now())) g.set({ check: r.check, age: r.age }, r.n);
    });
    dbGauge('klear_breaks_open_oldest_age_seconds', 'Age of the oldest open break per check', ['check'], async (g) => {
      for (const r of await this.repository.oldestOpenBreaks()) g.set({ check: r.check }, secondsSince(now(), r.at));
    });
    dbGauge('klear_withdrawals', 'Withdrawal requests by state', ['state'], async (g) => {
      for (const r of await this.repository.withdrawalsByState()) g.set({ state: r.state }, r.n);
    });
    dbGauge(
      'klear_withdrawal_oldest_pending_approval_age_seconds',
      'Age of the oldest withdrawal waiting for approval (0: none)',
      [],
      async (g) => {
        const at = await this.repository.oldestPendingApproval();
        g.set(at ? secondsSince(now(), at) : 0);
      },
    );
    dbGauge(
      'klear_notification_outbox_backlog',
      'Notifications not yet delivered: outbox rows not fanned out, deliveries pending or being sent',
      ['stage'],
      async (g) => {
        const r = await this.repository.outboxBacklog();
        g.set({ stage: 'outbox' }, r.unfanned);
        g.set({ stage: 'pending' }, r.pending);
        g.set({ stage: 'sending' }, r.sending);
      },
    );
    dbGauge('klear_notification_deliveries_failed', 'Notification deliveries given up (failed)', [], async (g) => {
      g.set(await this.repository.failedDeliveries());
    });
    dbGauge(
      'klear_audit_chain_ok',
      'Last audit chain verification (audit_chain_check job): 1 verified, 0 failed, -1 not run yet',
      [],
      async (g) => {
        const status = await this.repository.lastAuditChainCheck();
        g.set(status ? (status === 'succeeded' ? 1 : 0) : -1);
      },
    );
    dbGauge(
      'klear_key_pull_age_seconds',
      'Seconds since each key Klear pull (balance, active obligations, estimate); absent: never pulled',
      ['pull'],
      async (g) => {
        for (const pull of Object.keys(KEY_PULLS) as KeyPull[]) {
          const at = await this.repository.lastPull(pull);
          if (at) g.set({ pull }, secondsSince(now(), at));
        }
      },
    );
    dbGauge('klear_db_pool_connections', 'Database pool of this process: total, idle and waiting clients', ['state'], async (g) => {
      const pool = this.repository.poolStats();
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
}

function secondsSince(now: Date, at: Date): number {
  return Math.max(0, (now.getTime() - new Date(at).getTime()) / 1000);
}
