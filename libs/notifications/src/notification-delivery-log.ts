import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/** One delivery as the log reads it, with its attempts (times as JSON text inside the aggregate). */
export interface NotificationDeliveryRow {
  id: string;
  notification_id: string;
  kind: string;
  subject_type: string;
  subject_id: string;
  channel: string;
  recipient: string;
  recipient_name: string | null;
  address: string | null;
  status: string;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  next_attempt_at: Date;
  delivered_at: Date | null;
  attempt_log: Array<{ attempt: number; started_at: string; finished_at: string | null; outcome: string; detail: string | null }>;
}

/** The delivery log admins read (`GET /notifications/deliveries`): each delivery and every attempt at it. */
@Injectable()
export class NotificationDeliveryLog {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async list(filter: {
    status?: string;
    before?: string;
    limit: number;
  }): Promise<{ data: NotificationDeliveryRow[]; next_before: string | null }> {
    const before = filter.before && /^\d{1,18}$/.test(filter.before) ? filter.before : null;
    const rows = (await this.dataSource.query(
      `SELECT d.id::text, d.outbox_id::text AS notification_id, o.kind, o.subject_type, o.subject_id, d.channel, d.recipient,
              u.name AS recipient_name, d.address, d.status, d.attempts, d.last_error, d.created_at, d.next_attempt_at, d.delivered_at,
              coalesce((SELECT json_agg(json_build_object('attempt', a.attempt, 'started_at', a.started_at, 'finished_at', a.finished_at, 'outcome', a.outcome, 'detail', a.detail) ORDER BY a.attempt)
                          FROM notification_attempt a WHERE a.delivery_id = d.id), '[]') AS attempt_log
         FROM notification_delivery d JOIN notification_outbox o ON o.id = d.outbox_id LEFT JOIN app_user u ON u.id = d.user_id
        WHERE ($1::text IS NULL OR d.status = $1) AND ($2::bigint IS NULL OR d.id < $2::bigint)
        ORDER BY d.id DESC LIMIT $3`,
      [filter.status ?? null, before, filter.limit + 1],
    )) as NotificationDeliveryRow[];
    const page = rows.slice(0, filter.limit);
    return { data: page, next_before: rows.length > filter.limit ? page[page.length - 1].id : null };
  }
}
