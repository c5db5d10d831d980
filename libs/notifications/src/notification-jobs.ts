import { Injectable } from '@nestjs/common';
import { type JobContext, type JobHandler, ScheduledJob } from '@app/jobs';
import { NotificationSender } from './notification-sender';

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
