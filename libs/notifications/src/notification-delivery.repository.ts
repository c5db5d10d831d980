import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { type DbTransaction } from '@app/db';
import { DataSource } from 'typeorm';
import { type Audience, type Channel, type NotificationKind, type NotificationPayload } from './notification-kinds';

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

/** A delivery due now, with what its channel sends. */
export interface DueDelivery {
  id: string;
  channel: Channel;
  address: string | null;
  kind: NotificationKind;
  payload: NotificationPayload;
}

/** An active person a notification is meant for, with their preferences (null: none chosen). */
export interface AudienceMember {
  id: string;
  name: string;
  email: string | null;
  events: Record<string, Channel[]> | null;
}

/** How an attempt ended, as the sender records it on the attempt and its delivery. */
export interface AttemptOutcome {
  deliveryId: string;
  attempt: number;
  /** The attempt's outcome: `delivered`, `retry` or `failed`. */
  outcome: string;
  /** The delivery's status afterwards: `delivered`, `pending` or `failed`. */
  status: string;
  at: Date;
  problem: string | null;
  deliveredAt: Date | null;
  nextAttemptAt: Date;
}

/** Answers how many rows an UPDATE ... RETURNING touched (TypeORM answers [rows, count] for an UPDATE). */
const returnedCount = (rows: [unknown[], number] | unknown[]) => (Array.isArray(rows[0]) ? (rows[0] as unknown[]).length : rows.length);

/**
 * Notification deliveries and their attempts, and the outbox rows they fan out from: what the sender
 * claims and records, and the delivery log admins read.
 */
@Injectable()
export class NotificationDeliveryRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Closes as `interrupted` every attempt still `started` and puts its delivery back to pending; answers how many deliveries. */
  closeInterrupted(now: Date): Promise<number> {
    return this.dataSource.transaction(async (m) => {
      const rows = (await m.query(
        `WITH cut AS (
           UPDATE notification_attempt SET outcome = 'interrupted', finished_at = $1, detail = 'the sender stopped before recording the outcome; sent again with the same message id'
            WHERE outcome = 'started' RETURNING delivery_id)
         UPDATE notification_delivery d SET status = 'pending', next_attempt_at = $1
          WHERE d.status = 'sending' AND d.id IN (SELECT delivery_id FROM cut) RETURNING d.id`,
        [now],
      )) as [unknown[], number] | unknown[];
      return returnedCount(rows);
    });
  }

  /** Outbox rows not fanned out yet, oldest first, locked (rows another sender holds are skipped). */
  async lockUnfannedOutbox(tx: DbTransaction, limit: number): Promise<Array<{ id: string; kind: NotificationKind; audience: Audience }>> {
    return (await tx.query(
      `SELECT id::text, kind, audience FROM notification_outbox WHERE fanned_out_at IS NULL ORDER BY notification_outbox.id LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    )) as Array<{ id: string; kind: NotificationKind; audience: Audience }>;
  }

  /** The active people an audience names (by role or id, less those excluded), by name. */
  async audienceOf(tx: DbTransaction, audience: Audience): Promise<AudienceMember[]> {
    return (await tx.query(
      `SELECT u.id, u.name, p.email, p.events FROM app_user u LEFT JOIN notification_preference p ON p.user_id = u.id
        WHERE u.disabled_at IS NULL AND (u.roles && $1::text[] OR u.id = ANY($2::uuid[])) AND NOT (u.id = ANY($3::uuid[]))
        ORDER BY u.name`,
      [audience.roles ?? [], audience.users ?? [], audience.exclude ?? []],
    )) as AudienceMember[];
  }

  /**
   * One email delivery of an outbox row to a person; without an address it is recorded failed at once.
   * A delivery already there (same row, channel, person) writes nothing. Answers how many were written.
   */
  async insertEmailDelivery(tx: DbTransaction, outboxId: string, person: AudienceMember, now: Date): Promise<number> {
    const noAddress = !person.email;
    const inserted = (await tx.query(
      `INSERT INTO notification_delivery (outbox_id, channel, recipient, user_id, address, status, next_attempt_at, created_at, last_error)
       VALUES ($1, 'email', $2::text, $2::uuid, $3, $4, $5, $5, $6) ON CONFLICT (outbox_id, channel, recipient) DO NOTHING RETURNING id`,
      [
        outboxId,
        person.id,
        person.email,
        noAddress ? 'failed' : 'pending',
        now,
        noAddress ? 'no email address on file (notification preferences)' : null,
      ],
    )) as unknown[];
    return inserted.length;
  }

  /** The one channel delivery of an outbox row, naming the people it is for. Answers how many were written (0 or 1). */
  async insertSlackDelivery(tx: DbTransaction, outboxId: string, forPeople: string, now: Date): Promise<number> {
    const inserted = (await tx.query(
      `INSERT INTO notification_delivery (outbox_id, channel, recipient, user_id, address, status, next_attempt_at, created_at)
       VALUES ($1, 'slack', 'channel', NULL, $2, 'pending', $3, $3) ON CONFLICT (outbox_id, channel, recipient) DO NOTHING RETURNING id`,
      [outboxId, forPeople, now],
    )) as unknown[];
    return inserted.length;
  }

  async markFannedOut(tx: DbTransaction, outboxId: string, now: Date): Promise<void> {
    await tx.query(`UPDATE notification_outbox SET fanned_out_at = $2 WHERE id = $1`, [outboxId, now]);
  }

  /** Pending deliveries due at `now`, oldest first. */
  async due(now: Date, limit: number): Promise<DueDelivery[]> {
    return (await this.dataSource.query(
      `SELECT d.id::text, d.channel, d.address, o.kind, o.payload FROM notification_delivery d JOIN notification_outbox o ON o.id = d.outbox_id
        WHERE d.status = 'pending' AND d.next_attempt_at <= $1 ORDER BY d.id LIMIT $2`,
      [now, limit],
    )) as DueDelivery[];
  }

  /** Claims a pending delivery (committed): `sending`, one more attempt `started`. Answers the attempt's number, or null when it is no longer pending. */
  claim(deliveryId: string, now: () => Date): Promise<number | null> {
    return this.dataSource.transaction(async (m) => {
      const rows = (await m.query(
        `UPDATE notification_delivery SET status = 'sending', attempts = attempts + 1 WHERE id = $1 AND status = 'pending' RETURNING attempts`,
        [deliveryId],
      )) as [Array<{ attempts: number }>, number];
      const attempt = rows[0][0]?.attempts;
      if (attempt === undefined) return null;
      await m.query(`INSERT INTO notification_attempt (delivery_id, attempt, started_at, outcome) VALUES ($1, $2, $3, 'started')`, [
        deliveryId,
        attempt,
        now(),
      ]);
      return attempt;
    });
  }

  /** Records an attempt's outcome on the attempt and its delivery, in one transaction. */
  async recordOutcome(o: AttemptOutcome): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      await m.query(`UPDATE notification_attempt SET outcome = $3, finished_at = $4, detail = $5 WHERE delivery_id = $1 AND attempt = $2`, [
        o.deliveryId,
        o.attempt,
        o.outcome,
        o.at,
        o.problem,
      ]);
      await m.query(
        `UPDATE notification_delivery SET status = $2, delivered_at = $3, last_error = $4, next_attempt_at = $5 WHERE id = $1`,
        [o.deliveryId, o.status, o.deliveredAt, o.problem, o.nextAttemptAt],
      );
    });
  }

  /** The delivery log's page: deliveries newest first, filtered by status, before a delivery id; `limit` rows at most. */
  async page(status: string | null, before: string | null, limit: number): Promise<NotificationDeliveryRow[]> {
    return (await this.dataSource.query(
      `SELECT d.id::text, d.outbox_id::text AS notification_id, o.kind, o.subject_type, o.subject_id, d.channel, d.recipient,
              u.name AS recipient_name, d.address, d.status, d.attempts, d.last_error, d.created_at, d.next_attempt_at, d.delivered_at,
              coalesce((SELECT json_agg(json_build_object('attempt', a.attempt, 'started_at', a.started_at, 'finished_at', a.finished_at, 'outcome', a.outcome, 'detail', a.detail) ORDER BY a.attempt)
                          FROM notification_attempt a WHERE a.delivery_id = d.id), '[]') AS attempt_log
         FROM notification_delivery d JOIN notification_outbox o ON o.id = d.outbox_id LEFT JOIN app_user u ON u.id = d.user_id
        WHERE ($1::text IS NULL OR d.status = $1) AND ($2::bigint IS NULL OR d.id < $2::bigint)
        ORDER BY d.id DESC LIMIT $3`,
      [status, before, limit],
    )) as NotificationDeliveryRow[];
  }
}
