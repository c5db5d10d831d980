import { Injectable } from '@nestjs/common';
import { type JobContext, type JobHandler, ScheduledJob } from '@app/jobs';
import { NotificationSender } from './notification-sender';
import { OperationsWatch } from './operations-watch';

@ScheduledJob({
  name: 'notification_sender',
  description: 'delivers the notification outbox by email and the Slack-compatible webhook, with retries and backoff',
  defaultCron: '*/10 * * * * *',
  runAtStartup: true,
})
@Injectable()
export class NotificationSenderJob implements JobHandler {
  constructor(private readonly sender: NotificationSender) {}

  async run(context: JobContext): Promise<void> {
    const summary = await this.sender.runOnce();
    context.read(summary.fannedOut);
    context.wrote(summary.delivered);
    context.setDetails({ ...summary });
  }
}

/** A job that runs one of OperationsWatch's checks. */
@Injectable()
abstract class OperationsWatchCheck implements JobHandler {
  constructor(protected readonly watch: OperationsWatch) {}

  abstract run(context: JobContext): Promise<void>;
}

@ScheduledJob({
  name: 'operations_watch',
  description: 'announces withdrawals about to expire and jobs whose last success is older than their staleness',
  defaultCron: '30 * * * * *',
})
@Injectable()
export class OperationsWatchJob extends OperationsWatchCheck {
  async run(context: JobContext): Promise<void> {
    const expiring = await this.watch.expiringWithdrawals();
    const stale = await this.watch.staleJobs();
    context.wrote(expiring);
    context.setDetails({ expiring_notified: expiring, stale_jobs: stale });
  }
}

@ScheduledJob({
  name: 'audit_chain_check',
  description: 'verifies the audit chain (links, hashes, MACs); a failure fails the run and notifies admins',
  defaultCron: '0 5 * * * *',
})
@Injectable()
export class AuditChainCheckJob extends OperationsWatchCheck {
  async run(context: JobContext): Promise<void> {
    const result = await this.watch.auditChain();
    context.read(result.checked);
  }
}

@ScheduledJob({
  name: 'breaks_digest',
  description: 'daily digest of reconciliation breaks open longer than NOTIFY_BREAK_DIGEST_AGE_HOURS',
  defaultCron: '0 0 7 * * *',
})
@Injectable()
export class BreaksDigestJob extends OperationsWatchCheck {
  async run(context: JobContext): Promise<void> {
    context.read(await this.watch.breaksDigest());
  }
}
