import { Injectable } from '@nestjs/common';
import { Clock } from '@app/clock';
import type { EntityManager } from 'typeorm';
import { NOTIFICATION_KINDS, type NotificationEvent } from './notification-kinds';

/** Inserts the outbox row in the caller's transaction; a dedupe key already there writes nothing. Answers whether a row was written. */
export async function enqueueNotification(m: EntityManager, at: Date, event: NotificationEvent): Promise<boolean> {
  const audience = event.audience ?? { roles: [...NOTIFICATION_KINDS[event.kind].roles] };
  const rows = (await m.query(
    `INSERT INTO notification_outbox (kind, subject_type, subject_id, dedupe_key, payload, audience, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id::text`,
    [event.kind, event.subjectType, event.subjectId, event.dedupeKey, JSON.stringify(event.payload), JSON.stringify(audience), at],
  )) as Array<{ id: string }>;
  return rows.length === 1;
}

/**
 * The outbox: an event is announced by a row written in the same transaction as the event itself
 * (a withdrawal transition, a break opened, a proposal), so there is a notification exactly when
 * the event committed. The sender (NotificationSender) delivers it later.
 */
@Injectable()
export class NotificationOutbox {
  constructor(private readonly clock: Clock) {}

  enqueue(m: EntityManager, event: NotificationEvent): Promise<boolean> {
    return enqueueNotification(m, this.clock.now(), event);
  }
}
