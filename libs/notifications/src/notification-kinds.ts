import type { Role } from '@app/db';

/**
 * Every kind of operations notification (docs/notifications.md): who it is for by default and
 * whether a person may switch it off. A person's preferences choose, per kind, the channels
 * (email, slack); the audience itself follows from roles and the event (never the requester for
 * an approval request).
 */
export const NOTIFICATION_KINDS = {
  'withdrawal.approval_requested': { title: 'Approval needed', roles: ['approver'] },
  'withdrawal.approved': { title: 'Withdrawal approved', roles: ['operator', 'approver'] },
  'withdrawal.sent': { title: 'Withdrawal sent to Klear', roles: ['operator', 'approver'] },
  'withdrawal.processed': { title: 'Withdrawal processed', roles: ['operator', 'approver'] },
  'withdrawal.failed': { title: 'Withdrawal FAILED', roles: ['operator', 'approver'] },
  'withdrawal.outcome_unknown': { title: 'Withdrawal outcome UNKNOWN', roles: ['operator', 'approver'] },
  'withdrawal.expiring': { title: 'Withdrawal about to expire', roles: ['approver'] },
  'break.opened': { title: 'New reconciliation break', roles: ['operator', 'admin'] },
  'breaks.digest': { title: 'Reconciliation breaks still open', roles: ['operator', 'admin'] },
  'job.stale': { title: 'Job has not succeeded recently', roles: ['operator', 'admin'] },
  'audit.verification_failed': { title: 'Audit chain FAILED verification', roles: ['admin'] },
  'admin.proposal_waiting': { title: 'Proposal waiting for a second admin', roles: ['admin'] },
} as const satisfies Record<string, { title: string; roles: readonly Role[] }>;

export type NotificationKind = keyof typeof NOTIFICATION_KINDS;
export const NOTIFICATION_KIND_NAMES = Object.keys(NOTIFICATION_KINDS) as NotificationKind[];

export const CHANNELS = ['email', 'slack'] as const;
export type Channel = (typeof CHANNELS)[number];

export function isNotificationKind(value: string): value is NotificationKind {
  return Object.prototype.hasOwnProperty.call(NOTIFICATION_KINDS, value);
}

/** Who an event is for: people holding any of `roles`, plus `users`, minus `exclude` (user ids). */
export interface Audience {
  roles: Role[];
  users?: string[];
  exclude?: string[];
}

/**
 * What a notification says. Only identifiers, amounts, states and names: never a token, a secret,
 * an account number or a full Klear answer. `link` is a path under NOTIFY_CONSOLE_URL.
 */
export interface NotificationPayload {
  summary: string;
  /** Lines of "label: value". */
  facts: Array<[string, string]>;
  link: string;
}

export interface NotificationEvent {
  kind: NotificationKind;
  subjectType: string;
  subjectId: string;
  /** One notification per key, ever: a repeat of the same event (a retried job) writes nothing. */
  dedupeKey: string;
  payload: NotificationPayload;
  /** Defaults to the kind's roles. */
  audience?: Audience;
}
