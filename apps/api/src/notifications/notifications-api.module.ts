import { Module } from '@nestjs/common';
import { NotificationsModule } from '@app/notifications';
import { NotificationsController } from './notifications.controller';

/** Notification preferences (everyone their own; admins anyone's) and the delivery log (admins). */
@Module({ imports: [NotificationsModule], controllers: [NotificationsController], exports: [NotificationsModule] })
export class NotificationsApiModule {}
