import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { JobAdvisoryLock } from '@app/jobs';
import { DataSource } from 'typeorm';
import { EmailChannel, SlackChannel, type ChannelSenders, type SendResult } from './channels';
import { type Audience, type Channel, type NotificationKind, type NotificationPayload } from './notification-kinds';
import { channelsFor } from './notification-preferences';

/** Where a drill (tests) can stop or kill the sender: after a claim is committed, after the channel accepted, after the outcome is committed. */
export type SenderStep = 'claimed' | 'sent' | 'recorded';
export interface SenderHooks {
  at?(step: SenderStep, deliveryId: string): Promise<void> | void;
}
export const NOTIFICATION_SENDER_HOOKS = Symbol('NOTIFICATION_SENDER_HOOKS');

export interface SenderSummary {
  /** Another sender holds the batch lock: this one did nothing. */
  skipped: boolean;
  fannedOut: number;
  deliveriesCreated: number;
  /** Attempts left `started` by a sender that died: re-sent (same Message-ID / webhook id). */
  interrupted: number;
  delivered: number;
  retrying: number;
  failed: number;
}

interface DueDelivery {
  id: string;
  channel: Channel;
  address: string | null;
  kind: NotificationKind;
  payload: NotificationPayload;
}

const MAX_BACKOFF_SECONDS = 6 * 3600;

/**
 * Delivers the outbox. One sender at a time (a session advisory lock, released when its process
 * dies). Each run:
 *
 * 1. An attempt still `started` was cut off by a dead sender: it is closed as `interrupted` and its
 *    delivery goes back to pending (re-sent with the same Message-ID / X-Klear-Webhook-Id).
 * 2. Fan-out: each new outbox row becomes one delivery per (channel, recipient), unique in the
 *    table, so a repeated fan-out creates nothing twice.
 * 3. Each due delivery: claim (attempt `started`, committed), send, record the outcome (committed).
 *    A failure is retried with exponential backoff up to NOTIFY_MAX_ATTEMPTS, then `failed`.
 *
 * So a delivery is sent again only when a sender died between the channel accepting it and the
 * outcome being committed (docs/notifications.md, "Exactly once?").
 */
@Injectable()
export class NotificationSender {
  private readonly logger = new Logger('Notifications');
  private readonly channels: ChannelSenders;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
    email: EmailChannel,
    slack: SlackChannel,
    @Optional() @Inject(NOTIFICATION_SENDER_HOOKS) private readonly hooks?: SenderHooks,
  ) {
    this.channels = { email, slack };
  }

  async runOnce(): Promise<SenderSummary> {
    const summary: SenderSummary = {
      skipped: false,
      fannedOut: 0,
      deliveriesCreated: 0,
      interrupted: 0,
      delivered: 0,
      retrying: 0,
      failed: 0,
    };
    if (!this.config.database.url) throw new Error('database url not resolved before bootstrap');
    const lock = new JobAdvisoryLock(this.config.database.url, 'notification_sender.batch');
    if (!(await lock.tryAcquire())) return { ...summary, skipped: true };
    try {
      summary.interrupted = await this.closeInterrupted();
      const fan = await this.fanOut();
      summary.fannedOut = fan.outbox;
      summary.deliveriesCreated = fan.deliveries;
      for (const delivery of await this.due()) {
        const outcome = await this.deliver(delivery);
        summary[outcome] += 1;
      }
      return summary;
    } finally {
      await lock.release();
    }
  }

  private async closeInterrupted(): Promise<number> {
    const now = this.clock.now();
    return this.dataSource.transaction(async (m) => {
      const rows = (await m.query(
        `WITH cut AS (
           UPDATE notification_attempt SET outcome = 'interrupted', finished_at = $1, detail = 'the sender stopped before recording the outcome; sent again with the same message id'
            WHERE outcome = 'started' RETURNING delivery_id)
         UPDATE notification_delivery d SET status = 'pending', next_attempt_at = $1
          WHERE d.status = 'sending' AND d.id IN (SELECT delivery_id FROM cut) RETURNING d.id`,
        [now],
      )) as [unknown[], number] | unknown[];
      return Array.isArray(rows[0]) ? (rows[0] as unknown[]).length : rows.length;
    });
  }

  private async fanOut(): Promise<{ outbox: number; deliveries: number }> {
    let outbox = 0;
    let deliveries = 0;
    const now = this.clock.now();
    await this.dataSource.transaction(async (m) => {
      const pending = (await m.query(
        `SELECT id::text, kind, audience FROM notification_outbox WHERE fanned_out_at IS NULL ORDER BY notification_outbox.id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.config.notifications.batchSize],
      )) as Array<{ id: string; kind: NotificationKind; audience: Audience }>;
      for (const row of pending) {
        const people = (await m.query(
          `SELECT u.id, u.name, p.email, p.events FROM app_user u LEFT JOIN notification_preference p ON p.user_id = u.id
            WHERE u.disabled_at IS NULL AND (u.roles && $1::text[] OR u.id = ANY($2::uuid[])) AND NOT (u.id = ANY($3::uuid[]))
            ORDER BY u.name`,
          [row.audience.roles ?? [], row.audience.users ?? [], row.audience.exclude ?? []],
        )) as Array<{ id: string; name: string; email: string | null; events: Record<string, Channel[]> | null }>;
        const slackFor: string[] = [];
        for (const person of people) {
          const channels = channelsFor(person.events, row.kind);
          if (channels.includes('slack')) slackFor.push(person.name);
          if (!channels.includes('email')) continue;
          // No address on file: the delivery is recorded failed, so an admin sees who was not told.
          const noAddress = !person.email;
          const inserted = (await m.query(
            `INSERT INTO notification_delivery (outbox_id, channel, recipient, user_id, address, status, next_attempt_at, created_at, last_error)
             VALUES ($1, 'email', $2::text, $2::uuid, $3, $4, $5, $5, $6) ON CONFLICT (outbox_id, channel, recipient) DO NOTHING RETURNING id`,
            [
              row.id,
              person.id,
              person.email,
              noAddress ? 'failed' : 'pending',
              now,
              noAddress ? 'no email address on file (notification preferences)' : null,
            ],
          )) as unknown[];
          deliveries += inserted.length;
        }
        if (slackFor.length > 0) {
          const inserted = (await m.query(
            `INSERT INTO notification_delivery (outbox_id, channel, recipient, user_id, address, status, next_attempt_at, created_at)
             VALUES ($1, 'slack', 'channel', NULL, $2, 'pending', $3, $3) ON CONFLICT (outbox_id, channel, recipient) DO NOTHING RETURNING id`,
            [row.id, slackFor.join(', '), now],
          )) as unknown[];
          deliveries += inserted.length;
        }
        await m.query(`UPDATE notification_outbox SET fanned_out_at = $2 WHERE id = $1`, [row.id, now]);
        outbox += 1;
      }
    });
    return { outbox, deliveries };
  }

  private async due(): Promise<DueDelivery[]> {
    return (await this.dataSource.query(
      `SELECT d.id::text, d.channel, d.address, o.kind, o.payload FROM notification_delivery d JOIN notification_outbox o ON o.id = d.outbox_id
        WHERE d.status = 'pending' AND d.next_attempt_at <= $1 ORDER BY d.id LIMIT $2`,
      [this.clock.now(), this.config.notifications.batchSize],
    )) as DueDelivery[];
  }

  private async deliver(delivery: DueDelivery): Promise<'delivered' | 'retrying' | 'failed'> {
    const claimed = await this.dataSource.transaction(async (m) => {
      const rows = (await m.query(
        `UPDATE notification_delivery SET status = 'sending', attempts = attempts + 1 WHERE id = $1 AND status = 'pending' RETURNING attempts`,
        [delivery.id],
      )) as [Array<{ attempts: number }>, number];
      const attempt = rows[0][0]?.attempts;
      if (attempt === undefined) return null;
      await m.query(`INSERT INTO notification_attempt (delivery_id, attempt, started_at, outcome) VALUES ($1, $2, $3, 'started')`, [
        delivery.id,
        attempt,
        this.clock.now(),
      ]);
      return attempt;
    });
    if (claimed === null) return 'retrying';
    await this.hooks?.at?.('claimed', delivery.id);
    let result: SendResult;
    try {
      result = await this.channels[delivery.channel].send({
        deliveryId: delivery.id,
        kind: delivery.kind,
        payload: delivery.payload,
        address: delivery.channel === 'email' ? delivery.address : null,
        forPeople: delivery.channel === 'slack' && delivery.address ? delivery.address.split(', ') : [],
      });
    } catch (error) {
      result = { ok: false, problem: String((error as Error).message ?? error).slice(0, 300), retryable: true };
    }
    if (result.ok) await this.hooks?.at?.('sent', delivery.id);
    const now = this.clock.now();
    const { maxAttempts, retryBaseSeconds } = this.config.notifications;
    const outcome = result.ok ? 'delivered' : result.retryable && claimed < maxAttempts ? 'retrying' : 'failed';
    const backoffSeconds = Math.min(MAX_BACKOFF_SECONDS, retryBaseSeconds * 2 ** (claimed - 1));
    await this.dataSource.transaction(async (m) => {
      await m.query(`UPDATE notification_attempt SET outcome = $3, finished_at = $4, detail = $5 WHERE delivery_id = $1 AND attempt = $2`, [
        delivery.id,
        claimed,
        outcome === 'retrying' ? 'retry' : outcome,
        now,
        result.ok ? null : result.problem,
      ]);
      await m.query(
        `UPDATE notification_delivery SET status = $2, delivered_at = $3, last_error = $4, next_attempt_at = $5 WHERE id = $1`,
        [
          delivery.id,
          outcome === 'retrying' ? 'pending' : outcome,
          result.ok ? now : null,
          result.ok ? null : result.problem,
          new Date(now.getTime() + (outcome === 'retrying' ? backoffSeconds * 1000 : 0)),
        ],
      );
    });
    if (!result.ok)
      this.logger.warn(
        `notification delivery ${delivery.id} (${delivery.channel}, ${delivery.kind}) attempt ${claimed}: ${result.problem}${outcome === 'retrying' ? `; retried in ${backoffSeconds} s` : '; given up'}`,
      );
    await this.hooks?.at?.('recorded', delivery.id);
    return outcome;
  }
}
