import { Module } from '@nestjs/common';
import { EmailChannel, SlackChannel } from './channels';
import { NotificationDeliveryLog } from './notification-delivery-log';
import { AuditChainCheckJob, BreaksDigestJob, NotificationSenderJob, OperationsWatchJob } from './notification.job';
import { NotificationOutbox } from './notification-outbox';
import { NotificationPreferencesService } from './notification-preferences';
import { NotificationSender } from './notification-sender';
import { OperationsWatch } from './operations-watch';

const SERVICES = [
  NotificationOutbox,
  NotificationPreferencesService,
  NotificationSender,
  NotificationDeliveryLog,
  OperationsWatch,
  EmailChannel,
  SlackChannel,
];

/** Outbox, preferences and the sender. Needs the database, AuditModule, APP_CONFIG and ClockModule in the importing application. */
@Module({ providers: SERVICES, exports: SERVICES })
export class NotificationsModule {}

/** The worker's notification jobs (needs JobsModule too). */
@Module({ imports: [NotificationsModule], providers: [NotificationSenderJob, OperationsWatchJob, AuditChainCheckJob, BreaksDigestJob] })
export class NotificationJobsModule {}
