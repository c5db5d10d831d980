import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditService } from '@app/audit';
import { Clock } from '@app/clock';
import { InvalidInput, NotFound } from '@app/errors';
import { DataSource } from 'typeorm';
import { CHANNELS, type Channel, NOTIFICATION_KIND_NAMES, type NotificationKind, isNotificationKind } from './notification-kinds';

/** What a person receives: an address, and per kind the channels (empty = nothing of that kind). */
export interface NotificationPreferences {
  userId: string;
  email: string | null;
  events: Record<NotificationKind, Channel[]>;
  updatedAt: Date | null;
  updatedBy: string | null;
}

/** Without a choice of their own a person receives every kind meant for them by email. */
export const DEFAULT_CHANNELS: readonly Channel[] = ['email'];

const EMAIL = /^[^\s@<>(),;:"]{1,64}@[A-Za-z0-9.-]{1,253}$/;

export function channelsFor(events: Partial<Record<string, Channel[]>> | null | undefined, kind: NotificationKind): Channel[] {
  const chosen = events?.[kind];
  return Array.isArray(chosen) ? chosen : [...DEFAULT_CHANNELS];
}

/** Per-person notification preferences (`/notifications/preferences`); every change is audited. */
@Injectable()
export class NotificationPreferencesService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async get(userId: string): Promise<NotificationPreferences> {
    await this.requireUser(userId);
    const [row] = (await this.dataSource.query(
      `SELECT email, events, updated_at, updated_by FROM notification_preference WHERE user_id = $1`,
      [userId],
    )) as Array<{ email: string | null; events: Record<string, Channel[]>; updated_at: Date; updated_by: string }>;
    const events = Object.fromEntries(NOTIFICATION_KIND_NAMES.map((k) => [k, channelsFor(row?.events, k)])) as Record<
      NotificationKind,
      Channel[]
    >;
    return { userId, email: row?.email ?? null, events, updatedAt: row?.updated_at ?? null, updatedBy: row?.updated_by ?? null };
  }

  /** `email`: undefined keeps, null removes. `events`: the kinds named are replaced, others kept. */
  async set(
    userId: string,
    change: { email?: string | null; events?: Record<string, unknown> },
    actor: string,
  ): Promise<NotificationPreferences> {
    const problems: string[] = [];
    if (change.email !== undefined && change.email !== null && (typeof change.email !== 'string' || !EMAIL.test(change.email)))
      problems.push('email: expected an email address');
    const events: Record<string, Channel[]> = {};
    for (const [kind, channels] of Object.entries(change.events ?? {})) {
      if (!isNotificationKind(kind)) problems.push(`events.${kind}: unknown kind (known: ${NOTIFICATION_KIND_NAMES.join(', ')})`);
      else if (!Array.isArray(channels) || channels.some((c) => !(CHANNELS as readonly unknown[]).includes(c)))
        problems.push(`events.${kind}: expected a list of ${CHANNELS.join(', ')}`);
      else events[kind] = [...new Set(channels as Channel[])];
    }
    if (problems.length) throw new InvalidInput(problems.join('; '), { problems });
    await this.dataSource.transaction(async (m) => {
      await this.requireUser(userId, m.query.bind(m));
      const [before] = (await m.query(`SELECT email, events FROM notification_preference WHERE user_id = $1 FOR UPDATE`, [
        userId,
      ])) as Array<{ email: string | null; events: Record<string, Channel[]> }>;
      const email = change.email === undefined ? (before?.email ?? null) : change.email;
      const merged = { ...(before?.events ?? {}), ...events };
      await m.query(
        `INSERT INTO notification_preference (user_id, email, events, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, events = EXCLUDED.events, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by`,
        [userId, email, JSON.stringify(merged), this.clock.now(), actor],
      );
      // The address is personal data: the audit says it changed, not what it is.
      await this.audit.record(
        {
          actor,
          action: 'notification_preferences.update',
          entityType: 'user',
          entityId: userId,
          details: { email_changed: change.email !== undefined, events },
        },
        m,
      );
    });
    return this.get(userId);
  }

  /** An active user's id by name (the demo and scripts address people by name). */
  async userIdByName(name: string): Promise<string | null> {
    const [row] = (await this.dataSource.query(`SELECT id FROM app_user WHERE name = $1 AND disabled_at IS NULL`, [name])) as Array<{
      id: string;
    }>;
    return row?.id ?? null;
  }

  private async requireUser(
    userId: string,
    query: (sql: string, params: unknown[]) => Promise<unknown> = (s, p) => this.dataSource.query(s, p),
  ): Promise<void> {
    const rows = (await query(`SELECT 1 FROM app_user WHERE id = $1`, [userId])) as unknown[];
    if (rows.length === 0) throw new NotFound('user', userId);
  }
}
