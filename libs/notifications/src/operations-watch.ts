import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '@app/audit';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig, jobStaleness } from '@app/config';
import { formatUsd, formatUsdExact } from '@app/money';
import type { NotificationEvent } from './notification-kinds';
import { NotificationOutboxRepository } from './notification-outbox.repository';
import { OperationsWatchRepository } from './operations-watch.repository';

const hours = (seconds: number) => `${(seconds / 3600).toFixed(1)} h`;

/**
 * The conditions nobody's action announces: a withdrawal about to expire, a job that stopped
 * succeeding, the audit chain failing verification, breaks left open too long. Each check writes
 * its notification with a dedupe key, so the next tick of the same condition writes nothing.
 */
@Injectable()
export class OperationsWatch {
  constructor(
    private readonly repository: OperationsWatchRepository,
    private readonly outbox: NotificationOutboxRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  /** Pending or approved requests expiring within NOTIFY_EXPIRY_WARNING_MINUTES: their approvers and requester. */
  async expiringWithdrawals(): Promise<number> {
    const now = this.clock.now();
    const until = new Date(now.getTime() + this.config.notifications.expiryWarningMinutes * 60_000);
    const rows = await this.repository.expiringWithdrawals(now, until);
    let written = 0;
    for (const r of rows) {
      const amount = formatUsd(BigInt(r.amount));
      const minutes = Math.round((new Date(r.expires_at).getTime() - now.getTime()) / 60_000);
      written += Number(
        await this.write({
          kind: 'withdrawal.expiring',
          subjectType: 'withdrawal',
          subjectId: r.id,
          dedupeKey: `withdrawal.expiring:${r.id}:${r.approval_round}`,
          payload: {
            summary: `withdrawal of ${amount} (requested by ${r.requester_name}) expires in ${minutes} min`,
            facts: [
              ['Withdrawal', r.id],
              ['Amount', amount],
              ['State', r.state],
              ['Expires', new Date(r.expires_at).toISOString()],
            ],
            link: `/withdrawals/${r.id}`,
          },
          audience: { roles: ['approver'], users: [r.requester_id] },
        }),
      );
    }
    return written;
  }

  /** Jobs whose last success is older than their staleness (JOB_<NAME>_STALE_SECONDS): one notification per stale spell. */
  async staleJobs(): Promise<string[]> {
    const now = this.clock.now();
    const stale: string[] = [];
    const last = await this.repository.lastSuccesses();
    const byJob = new Map(last.map((r) => [r.job, r]));
    for (const [job, seconds] of Object.entries(jobStaleness(this.config))) {
      const success = byJob.get(job);
      if (!success) continue; // never succeeded: nothing has gone stale yet (GET /jobs shows it)
      const age = (now.getTime() - new Date(success.finished_at).getTime()) / 1000;
      if (age <= seconds) continue;
      stale.push(job);
      await this.write({
        kind: 'job.stale',
        subjectType: 'job',
        subjectId: job,
        dedupeKey: `job.stale:${job}:${success.id}`,
        payload: {
          summary: `${job} last succeeded ${hours(age)} ago (stale after ${hours(seconds)})`,
          facts: [
            ['Job', job],
            ['Last success', new Date(success.finished_at).toISOString()],
            ['Stale after', `${seconds} s`],
          ],
          link: `/jobs/${job}`,
        },
      });
    }
    return stale;
  }

  /** Verifies the audit chain; a failure is announced once per first broken row, and thrown (the job run fails). */
  async auditChain(): Promise<{ ok: boolean; checked: number }> {
    const result = await this.audit.verify();
    if (result.ok) return { ok: true, checked: result.checked };
    await this.write({
      kind: 'audit.verification_failed',
      subjectType: 'audit',
      subjectId: result.firstBrokenSeq ?? 'unknown',
      dedupeKey: `audit.verification_failed:${result.firstBrokenSeq ?? 'unknown'}`,
      payload: {
        summary: `the audit chain does not verify from row ${result.firstBrokenSeq}`,
        facts: [
          ['First broken row', String(result.firstBrokenSeq)],
          ['Problem', String(result.problem).slice(0, 300)],
          ['Rows checked', String(result.checked)],
        ],
        link: '/audit',
      },
    });
    throw new Error(`audit chain verification failed at row ${result.firstBrokenSeq}: ${result.problem}`);
  }

  /** Open breaks older than NOTIFY_BREAK_DIGEST_AGE_HOURS, once a day (UTC date of the clock). */
  async breaksDigest(): Promise<number> {
    const now = this.clock.now();
    const cutoff = new Date(now.getTime() - this.config.notifications.breakDigestAgeHours * 3_600_000);
    const rows = await this.repository.openBreaksSince(cutoff);
    const count = rows.reduce((a, r) => a + r.n, 0);
    if (count === 0) return 0;
    const day = now.toISOString().slice(0, 10);
    await this.write({
      kind: 'breaks.digest',
      subjectType: 'breaks',
      subjectId: day,
      dedupeKey: `breaks.digest:${day}`,
      payload: {
        summary: `${count} break(s) open for more than ${this.config.notifications.breakDigestAgeHours} h`,
        facts: rows.map((r) => [
          r.check,
          `${r.n} open, oldest since ${new Date(r.oldest).toISOString()}, ${formatUsdExact(BigInt(r.total))} in absolute differences`,
        ]),
        link: '/breaks?status=open',
      },
    });
    return count;
  }

  private write(event: NotificationEvent): Promise<boolean> {
    return this.outbox.enqueueAlone(this.clock.now(), event);
  }
}
