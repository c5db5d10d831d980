import { Injectable } from '@nestjs/common';
import { AuditService } from '@app/audit';
import { Clock } from '@app/clock';
import { type DbTransaction, DbTransactions } from '@app/db';
import { InvalidInput, NotFound } from '@app/errors';
import { CHANNELS, type Channel, NOTIFICATION_KIND_NAMES, type NotificationKind, isNotificationKind } from './notification-kinds';
import { NotificationPreferenceRepository } from './notification-preference.repository';

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
    private readonly transactions: DbTransactions,
    private readonly preferences: NotificationPreferenceRepository,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async get(userId: string): Promise<NotificationPreferences> {
    await this.requireUser(userId);
    const row = await this.preferences.find(userId);
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
    await this.transactions.run(async (tx) => {
      await this.requireUser(userId, tx);
      const before = await this.preferences.lockFor(tx, userId);
      const email = change.email === undefined ? (before?.email ?? null) : change.email;
      const merged = { ...(before?.events ?? {}), ...events };
      await this.preferences.save(tx, userId, email, merged, this.clock.now(), actor);
      // The address is personal data: the audit says it changed, not what it is.
      await this.audit.record(
        {
          actor,
          action: 'notification_preferences.update',
          entityType: 'user',
          entityId: userId,
          details: { email_changed: change.email !== undefined, events },
        },
        tx,
      );
    });
    return this.get(userId);
  }

  /** An active user's id by name (the demo and scripts address people by name). */
  userIdByName(name: string): Promise<string | null> {
    return this.preferences.activeUserIdByName(name);
  }

  private async requireUser(userId: string, tx?: DbTransaction): Promise<void> {
    if (!(await this.preferences.userExists(userId, tx))) throw new NotFound('user', userId);
  }
}
