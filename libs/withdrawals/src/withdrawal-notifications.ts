import { Injectable } from '@nestjs/common';
import type { WithdrawalRequest } from '@app/db';
import { formatUsd } from '@app/money';
import { NotificationOutbox, type NotificationEvent, type NotificationKind } from '@app/notifications';
import type { WithdrawalState } from './withdrawal-states';
import type { WithdrawalTx } from './withdrawal.repository';

/** The states whose arrival people are told about, and the notification each is. */
const ON_STATE: Partial<Record<WithdrawalState, NotificationKind>> = {
  pending_approval: 'withdrawal.approval_requested',
  approved: 'withdrawal.approved',
  submitted: 'withdrawal.sent',
  processed: 'withdrawal.processed',
  failed: 'withdrawal.failed',
  outcome_unknown: 'withdrawal.outcome_unknown',
};

/** What a withdrawal notification says: id, amount, state, requester, purpose. Nothing else. */
export function withdrawalEvent(
  request: WithdrawalRequest,
  kind: NotificationKind,
  summary: string,
  extra: Array<[string, string]> = [],
): Omit<NotificationEvent, 'dedupeKey'> {
  const amount = formatUsd(request.amountCenticents);
  return {
    kind,
    subjectType: 'withdrawal',
    subjectId: request.id,
    payload: {
      summary: `${summary} ${amount} (requested by ${request.requesterName})`,
      facts: [
        ['Withdrawal', request.id],
        ['Amount', amount],
        ['State', request.state],
        ['Requested by', request.requesterName],
        ['Purpose', request.purpose.slice(0, 200)],
        ...extra,
      ],
      link: `/withdrawals/${request.id}`,
    },
  };
}

/**
 * Writes the notification of a withdrawal's new state into the outbox, in the transition's own
 * transaction (WithdrawalTransitions). "Please approve" goes to every approver except the
 * requester; the outcomes go to operators and approvers, and to the requester.
 */
@Injectable()
export class WithdrawalNotifications {
  constructor(private readonly outbox: NotificationOutbox) {}

  async stateReached(m: WithdrawalTx, request: WithdrawalRequest): Promise<void> {
    const kind = ON_STATE[request.state as WithdrawalState];
    if (!kind) return;
    const round = request.approvalRound;
    if (kind === 'withdrawal.approval_requested') {
      const approvals = `${request.approvalsRequired} approval(s)${request.rolesRequired.length ? `, one of them ${request.rolesRequired.join(' and ')}` : ''}`;
      await this.outbox.enqueue(m, {
        ...withdrawalEvent(request, kind, 'Please approve the withdrawal of', [
          ['Needs', approvals],
          ['Expires', request.expiresAt.toISOString()],
        ]),
        dedupeKey: `${kind}:${request.id}:${round}`,
        audience: { roles: ['approver'], exclude: [request.requesterId] },
      });
      return;
    }
    const verbs: Partial<Record<NotificationKind, string>> = {
      'withdrawal.approved': 'Approved:',
      'withdrawal.sent': 'Sent to Klear:',
      'withdrawal.processed': 'Processed by Klear:',
      'withdrawal.failed': 'FAILED at Klear:',
      'withdrawal.outcome_unknown': 'Outcome UNKNOWN (nothing is re-sent until resolved):',
    };
    const verb = verbs[kind] ?? kind;
    await this.outbox.enqueue(m, {
      ...withdrawalEvent(request, kind, verb, request.klearWithdrawalId ? [['Klear withdrawal id', request.klearWithdrawalId]] : []),
      dedupeKey: `${kind}:${request.id}:${round}`,
      audience: { roles: ['operator', 'approver'], users: [request.requesterId] },
    });
  }
}
