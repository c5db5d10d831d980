import { Injectable } from '@nestjs/common';
import { type JobContext, type JobHandler, ScheduledJob } from '@app/jobs';
import { WithdrawalExecutor } from './withdrawal-executor';
import { WithdrawalExpiry, WithdrawalTracking } from './withdrawal-tracking';

@ScheduledJob({
  name: 'withdrawal_executor',
  description: 'submits approved withdrawals to Klear exactly once; resolves unknown outcomes from Klear records',
  defaultCron: '*/10 * * * * *',
  runAtStartup: true,
})
@Injectable()
export class WithdrawalExecutorJob implements JobHandler {
  constructor(private readonly executor: WithdrawalExecutor) {}

  async run(context: JobContext): Promise<void> {
    const summary = await this.executor.runOnce();
    context.wrote(
      summary.submitted + summary.outcomeUnknown + summary.notSubmitted + summary.resolved.submitted + summary.resolved.not_submitted,
    );
    context.setDetails({ ...summary });
  }
}

@ScheduledJob({
  name: 'withdrawal_poller',
  description: 'follows submitted withdrawals at Klear to processed or failed; raises failures to operators',
  defaultCron: '*/30 * * * * *',
})
@Injectable()
export class WithdrawalPollerJob implements JobHandler {
  constructor(private readonly tracking: WithdrawalTracking) {}

  async run(context: JobContext): Promise<void> {
    const summary = await this.tracking.pollOnce();
    context.read(summary.polled);
    context.wrote(summary.moved);
    context.setDetails({ ...summary });
    if (summary.alertsPending > 0)
      throw new Error(`${summary.alertsPending} withdrawal failure alert(s) could not be delivered; retried next run`);
  }
}

@ScheduledJob({
  name: 'withdrawal_expiry',
  description: 'expires withdrawal requests not executed within the policy expiry',
  defaultCron: '* * * * *',
})
@Injectable()
export class WithdrawalExpiryJob implements JobHandler {
  constructor(private readonly expiry: WithdrawalExpiry) {}

  async run(context: JobContext): Promise<void> {
    context.wrote(await this.expiry.expireDue());
  }
}
