import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import nodemailer, { type Transporter } from 'nodemailer';
import { NOTIFICATION_KINDS, type Channel, type NotificationKind, type NotificationPayload } from './notification-kinds';
import { postSignedWebhook } from './signed-webhook';

/** A delivery as the channel sends it. `deliveryId` makes the Message-ID / webhook id: a re-send after a crash carries the same one. */
export interface OutgoingMessage {
  deliveryId: string;
  kind: NotificationKind;
  payload: NotificationPayload;
  /** Email: the address; slack: null. */
  address: string | null;
  /** Slack: the people it is for (names). */
  forPeople: string[];
}

export type SendResult = { ok: true } | { ok: false; problem: string; retryable: boolean };

export interface RenderedMessage {
  subject: string;
  text: string;
  link: string;
}

/** Subject, text and the console link of a notification. Nothing but what the payload says (no secrets there). */
export function renderNotification(kind: NotificationKind, payload: NotificationPayload, consoleUrl: string): RenderedMessage {
  const link = `${consoleUrl}${payload.link.startsWith('/') ? '' : '/'}${payload.link}`;
  const subject = `[Klear SCM] ${NOTIFICATION_KINDS[kind].title}: ${payload.summary}`;
  const text = [
    payload.summary,
    '',
    ...payload.facts.map(([k, v]) => `${k}: ${v}`),
    '',
    `Open in the console: ${link}`,
    '',
    `(${kind}; change what you receive in your notification preferences)`,
  ].join('\n');
  return { subject, text, link };
}

export const messageIdOf = (deliveryId: string) => `<notification-${deliveryId}@klear-scm.invalid>`;

/** Email over SMTP (NOTIFY_SMTP_URL) with nodemailer; one transport per process. */
@Injectable()
export class EmailChannel {
  private transport: Transporter | undefined;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async send(message: OutgoingMessage): Promise<SendResult> {
    const { smtpUrl, emailFrom, consoleUrl } = this.config.notifications;
    if (!smtpUrl) return { ok: false, problem: 'NOTIFY_SMTP_URL is not configured', retryable: true };
    if (!message.address) return { ok: false, problem: 'no email address on file', retryable: false };
    this.transport ??= nodemailer.createTransport(smtpUrl, { disableFileAccess: true, disableUrlAccess: true });
    const rendered = renderNotification(message.kind, message.payload, consoleUrl);
    try {
      await this.transport.sendMail({
        from: emailFrom,
        to: message.address,
        subject: rendered.subject,
        text: rendered.text,
        messageId: messageIdOf(message.deliveryId),
        headers: { 'X-Klear-Notification-Id': message.deliveryId, 'X-Klear-Notification-Kind': message.kind },
      });
      return { ok: true };
    } catch (error) {
      const e = error as { responseCode?: number; code?: string; message?: string };
      // 5xx from the server: the address or the message is refused (permanent); anything else may pass later.
      const permanent = typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600;
      return {
        ok: false,
        problem: `SMTP ${e.responseCode ?? e.code ?? 'error'}: ${String(e.message ?? error).slice(0, 300)}`,
        retryable: !permanent,
      };
    }
  }

  close(): void {
    this.transport?.close();
    this.transport = undefined;
  }
}

/**
 * A Slack-compatible incoming webhook (NOTIFY_SLACK_WEBHOOK_URL): `{ text, blocks }` JSON, signed
 * like the withdrawal webhook (HMAC-SHA256, NOTIFY_SLACK_WEBHOOK_SECRET), never redirected.
 */
@Injectable()
export class SlackChannel {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async send(message: OutgoingMessage): Promise<SendResult> {
    const { slackWebhookUrl: url, slackWebhookSecret, consoleUrl } = this.config.notifications;
    if (!url) return { ok: false, problem: 'NOTIFY_SLACK_WEBHOOK_URL is not configured', retryable: true };
    const rendered = renderNotification(message.kind, message.payload, consoleUrl);
    const forLine = message.forPeople.length ? `\nFor: ${message.forPeople.join(', ')}` : '';
    const text = `*${rendered.subject}*\n${message.payload.facts.map(([k, v]) => `${k}: ${v}`).join('\n')}${forLine}\n<${rendered.link}|Open in the console>`;
    const body = JSON.stringify({ text, notification_id: message.deliveryId, kind: message.kind, link: rendered.link });
    return postSignedWebhook({
      url,
      secret: slackWebhookSecret,
      body,
      deliveryId: `notification-${message.deliveryId}`,
      nowMs: this.clock.nowMs(),
    });
  }
}

export type ChannelSenders = Record<Channel, { send(message: OutgoingMessage): Promise<SendResult> }>;
