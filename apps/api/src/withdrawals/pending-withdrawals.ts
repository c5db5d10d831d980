import { Injectable } from '@nestjs/common';
import type { Principal } from '@app/auth';
import type { WithdrawalRequest } from '@app/db';
import { WithdrawalRepository } from '@app/withdrawals';

export interface PendingItem {
  request: WithdrawalRequest;
  approvals: Array<{ approver_id: string; name: string; decided_at: string; comment: string | null }>;
  you: { can_decide: boolean; why_not: string | null };
}

/**
 * The console's approval queue: every request still waiting for approval (not past its expiry), with
 * who approved in the current round, and whether the caller may decide, or why not (their own request,
 * not an approver, already approved by them).
 */
@Injectable()
export class PendingWithdrawals {
  constructor(private readonly repository: WithdrawalRepository) {}

  async list(who: Principal, now: Date): Promise<PendingItem[]> {
    const requests = await this.repository.pendingNotExpired(now);
    if (requests.length === 0) return [];
    const approvals = await this.repository.currentRoundApprovals(requests.map((r) => r.id));
    return requests.map((request) => {
      const mine = approvals.filter((a) => a.request_id === request.id);
      const approvedByMe = mine.find((a) => a.approver_id === who.userId);
      const whyNot =
        request.requesterId === who.userId
          ? 'You requested this withdrawal: another approver must decide.'
          : !who.roles.includes('approver')
            ? 'You do not hold the approver role.'
            : approvedByMe
              ? `You approved it at ${approvedByMe.decided_at.toISOString()}; it waits for another approver.`
              : null;
      return {
        request,
        approvals: mine.map((a) => ({
          approver_id: a.approver_id,
          name: a.approver_name,
          decided_at: a.decided_at.toISOString(),
          comment: a.reason,
        })),
        you: { can_decide: whyNot === null, why_not: whyNot },
      };
    });
  }
}
