import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { Principal } from '@app/auth';
import { WithdrawalRequest } from '@app/db';

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
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async list(who: Principal, now: Date): Promise<PendingItem[]> {
    const requests = await this.dataSource
      .getRepository(WithdrawalRequest)
      .createQueryBuilder('r')
      .where(`r.state = 'pending_approval'`)
      .andWhere('r.expires_at > :now', { now })
      .orderBy('r.created_at', 'ASC')
      .addOrderBy('r.id', 'ASC')
      .limit(500)
      .getMany();
    if (requests.length === 0) return [];
    const approvals = (await this.dataSource.query(
      `SELECT a.request_id, a.approver_id, a.approver_name, a.decided_at, a.reason
         FROM withdrawal_approval a JOIN withdrawal_request r ON r.id = a.request_id AND r.approval_round = a.round
        WHERE a.request_id = ANY($1::uuid[]) AND a.decision = 'approve' ORDER BY a.decided_at`,
      [requests.map((r) => r.id)],
    )) as Array<{ request_id: string; approver_id: string; approver_name: string; decided_at: Date; reason: string | null }>;
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
