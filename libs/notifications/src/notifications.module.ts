import { Module } from '@nestjs/common';
import { DbTransactions } from '@app/db';
import { EmailChannel, SlackChannel } from './channels';
import { NotificationDeliveryLog } from './notification-delivery-log';
import { NotificationDeliveryRepository } from './notification-delivery.repository';
import { AuditChainCheckJob, BreaksDigestJob, NotificationSenderJob, OperationsWatchJob } from './notification.job';
import { NotificationOutbox } from './notification-outbox';
import { NotificationOutboxRepository } from './notification-outbox.repository';
import { NotificationPreferenceRepository } from './notification-preference.repository';
import { NotificationPreferencesService } from './notification-preferences';
import { NotificationSender } from './notification-sender';
import { OperationsWatch } from './operations-watch';
import { OperationsWatchRepository } from './operations-watch.repository';

const SERVICES = [
  NotificationOutbox,
  NotificationPreferencesService,
  NotificationSender,
  NotificationDeliveryLog,
  OperationsWatch,
  EmailChannel,
  SlackChannel,
  DbTransactions,
  NotificationOutboxRepository,
  NotificationDeliveryRepository,
  NotificationPreferenceRepository,
  OperationsWatchRepository,
];

/** Outbox, preferences and the sender. Needs the database, AuditModule, APP_CONFIG and ClockModule in the importing application. */
@Module({ providers: SERVICES, exports: SERVICES })
export class NotificationsModule {}

/** The worker's notification jobs (needs JobsModule too). */
@Module({ imports: [NotificationsModule], providers: [NotificationSenderJob, OperationsWatchJob, AuditChainCheckJob, BreaksDigestJob] })
export class NotificationJobsModule {}
