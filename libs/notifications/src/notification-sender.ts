import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { DbTransactions } from '@app/db';
import { JobAdvisoryLock } from '@app/jobs';
import { EmailChannel, SlackChannel, type ChannelSenders, type SendResult } from './channels';
import { type DueDelivery, NotificationDeliveryRepository } from './notification-delivery.repository';
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
    private readonly transactions: DbTransactions,
    private readonly deliveries: NotificationDeliveryRepository,
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

  private closeInterrupted(): Promise<number> {
    return this.deliveries.closeInterrupted(this.clock.now());
  }

  private async fanOut(): Promise<{ outbox: number; deliveries: number }> {
    let outbox = 0;
    let deliveries = 0;
    const now = this.clock.now();
    await this.transactions.run(async (tx) => {
      const pending = await this.deliveries.lockUnfannedOutbox(tx, this.config.notifications.batchSize);
      for (const row of pending) {
        const people = await this.deliveries.audienceOf(tx, row.audience);
        const slackFor: string[] = [];
        for (const person of people) {
          const channels = channelsFor(person.events, row.kind);
          if (channels.includes('slack')) slackFor.push(person.name);
          if (!channels.includes('email')) continue;
          // No address on file: the delivery is recorded failed, so an admin sees who was not told.
          deliveries += await this.deliveries.insertEmailDelivery(tx, row.id, person, now);
        }
        if (slackFor.length > 0) deliveries += await this.deliveries.insertSlackDelivery(tx, row.id, slackFor.join(', '), now);
        await this.deliveries.markFannedOut(tx, row.id, now);
        outbox += 1;
      }
    });
    return { outbox, deliveries };
  }

  private due(): Promise<DueDelivery[]> {
    return this.deliveries.due(this.clock.now(), this.config.notifications.batchSize);
  }

  private async deliver(delivery: DueDelivery): Promise<'delivered' | 'retrying' | 'failed'> {
    const claimed = await this.deliveries.claim(delivery.id, () => this.clock.now());
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
    await this.deliveries.recordOutcome({
      deliveryId: delivery.id,
      attempt: claimed,
      outcome: outcome === 'retrying' ? 'retry' : outcome,
      status: outcome === 'retrying' ? 'pending' : outcome,
      at: now,
      problem: result.ok ? null : result.problem,
      deliveredAt: result.ok ? now : null,
      nextAttemptAt: new Date(now.getTime() + (outcome === 'retrying' ? backoffSeconds * 1000 : 0)),
    });
    if (!result.ok)
      this.logger.warn(
        `notification delivery ${delivery.id} (${delivery.channel}, ${delivery.kind}) attempt ${claimed}: ${result.problem}${outcome === 'retrying' ? `; retried in ${backoffSeconds} s` : '; given up'}`,
      );
    await this.hooks?.at?.('recorded', delivery.id);
    return outcome;
  }
}
