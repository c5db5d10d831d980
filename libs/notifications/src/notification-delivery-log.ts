import { Injectable } from '@nestjs/common';
import { type NotificationDeliveryRow, NotificationDeliveryRepository } from './notification-delivery.repository';

export type { NotificationDeliveryRow } from './notification-delivery.repository';

/** The delivery log admins read (`GET /notifications/deliveries`): each delivery and every attempt at it. */
@Injectable()
export class NotificationDeliveryLog {
  constructor(private readonly deliveries: NotificationDeliveryRepository) {}

  async list(filter: {
    status?: string;
    before?: string;
    limit: number;
  }): Promise<{ data: NotificationDeliveryRow[]; next_before: string | null }> {
    const before = filter.before && /^\d{1,18}$/.test(filter.before) ? filter.before : null;
    const rows = await this.deliveries.page(filter.status ?? null, before, filter.limit + 1);
    const page = rows.slice(0, filter.limit);
    return { data: page, next_before: rows.length > filter.limit ? page[page.length - 1].id : null };
  }
}
