import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type DbTransaction } from '@app/db';
import { DataSource } from 'typeorm';
import { NOTIFICATION_KINDS, type NotificationEvent } from './notification-kinds';

/** Inserts the outbox row in the caller's transaction; a dedupe key already there writes nothing. Answers whether a row was written. */
export async function enqueueNotification(m: DbTransaction, at: Date, event: NotificationEvent): Promise<boolean> {
  const audience = event.audience ?? { roles: [...NOTIFICATION_KINDS[event.kind].roles] };
  const rows = (await m.query(
    `INSERT INTO notification_outbox (kind, subject_type, subject_id, dedupe_key, payload, audience, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id::text`,
    [event.kind, event.subjectType, event.subjectId, event.dedupeKey, JSON.stringify(event.payload), JSON.stringify(audience), at],
  )) as Array<{ id: string }>;
  return rows.length === 1;
}

/** The outbox's rows written on their own (not part of another change): the conditions OperationsWatch announces. */
@Injectable()
export class NotificationOutboxRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Inserts the outbox row in a transaction of its own; answers whether a row was written (see enqueueNotification). */
  enqueueAlone(at: Date, event: NotificationEvent): Promise<boolean> {
    return this.dataSource.transaction((m) => enqueueNotification(m, at, event));
  }
}
