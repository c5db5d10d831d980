import { Injectable } from '@nestjs/common';
import type { Principal } from '@app/auth';
import { Clock } from '@app/clock';
import type { WithdrawalRequest } from '@app/db';
import { NotFound } from '@app/errors';
import { BufferHeadroomService } from './buffer-headroom.service';
import type { HeadroomResult } from './headroom-check';
import {
  ApproverGrantedByRequester,
  CancelForbidden,
  NothingToRevoke,
  SelfApprovalForbidden,
  WithdrawalExpired,
  WithdrawalNotPending,
} from './withdrawal-errors';
import { approvalProgress, policyFromSnapshot, tierFor, type ApprovalProgress, type PolicySnapshotJson } from './withdrawal-policy';
import type { WithdrawalState } from './withdrawal-states';
import { WithdrawalTransitions } from './withdrawal-transitions';
import { type ApprovalWithCurrentRoles, WithdrawalRepository, type WithdrawalTx } from './withdrawal.repository';

export interface DecisionOutcome {
  request: WithdrawalRequest;
  /** false: this approver had already approved this round; nothing changed (counted once). */
  changed: boolean;
  progress: ApprovalProgress;
}

/**
 * Runs inside a decision's transaction with the request row locked and known to be pending, before
 * the decision is written: the console's step-up (a second factor bound to this request) checks and
 * records its evidence here, so that a refused step-up writes nothing.
 */
export type DecisionBinding = (m: WithdrawalTx, request: WithdrawalRequest) => Promise<void>;

export interface QueueItem {
  request: WithdrawalRequest;
  approvalsSoFar: number;
}

export function progressOf(request: WithdrawalRequest, approvals: ApprovalWithCurrentRoles[]): ApprovalProgress {
  const tier = tierFor(policyFromSnapshot(request.policySnapshot as unknown as PolicySnapshotJson), request.amountCenticents);
  return approvalProgress(
    tier,
    approvals
      .filter((a) => a.decision === 'approve' && !a.grantedByRequester)
      .map((a) => ({ approverId: a.approverId, roles: a.currentRoles })),
  );
}

/** Approve, reject, cancel, and the approver's queue. Each decision runs under the request's row lock. */
@Injectable()
export class WithdrawalDecisionService {
  constructor(
    private readonly repository: WithdrawalRepository,
    private readonly transitions: WithdrawalTransitions,
    private readonly headroom: BufferHeadroomService,
    private readonly clock: Clock,
  ) {}

  /** `comment` (optional) is kept on the approval (its `reason`) and in the audit row. */
  async approve(id: string, who: Principal, requestBody: unknown, bind?: DecisionBinding, comment?: string): Promise<DecisionOutcome> {
    const note = comment?.trim() || null;
    return this.decide(id, who, async (m, request, decisions) => {
      const mine = decisions.find((d) => d.approverId === who.userId);
      if (mine?.decision === 'approve') return { request, changed: false, progress: progressOf(request, decisions) };
      this.assertPending(request);
      await bind?.(m, request);
      if (await this.repository.approverGrantedBy(m, who.userId, request.requesterId)) throw new ApproverGrantedByRequester(id);
      await this.repository.insertDecision(m, {
        requestId: id,
        round: request.approvalRound,
        approverId: who.userId,
        approverName: who.name,
        approverRoles: who.roles,
        decision: 'approve',
        reason: note,
        decidedAt: this.clock.now(),
      });
      const all = [...decisions, { approverId: who.userId, approverName: who.name, decision: 'approve' as const, currentRoles: who.roles }];
      const progress = progressOf(request, all);
      const details = {
        round: request.approvalRound,
        approvals: progress.approvals,
        required: progress.required,
        roles_missing: progress.rolesMissing,
        approver: who.name,
        comment: note,
      };
      if (progress.satisfied) {
        await this.transitions.apply(m, request, 'approved', { actor: who.name, reason: 'approvals complete', details, requestBody });
      } else {
        await this.transitions.note(m, request, 'approval', {
          actor: who.name,
          reason: 'approved; more approvals needed',
          details,
          requestBody,
        });
      }
      return { request, changed: true, progress };
    });
  }

  /** Ends the request, before execution (pending_approval or approved), even after this approver approved it. */
  async reject(id: string, who: Principal, reason: string, requestBody: unknown, bind?: DecisionBinding): Promise<DecisionOutcome> {
    return this.decide(id, who, async (m, request, decisions) => {
      this.assertBeforeExecution(request);
      await bind?.(m, request);
      await this.repository.insertDecision(m, this.decisionRow(request, who, 'reject', reason));
      await this.transitions.apply(m, request, 'rejected', {
        actor: who.name,
        reason,
        details: { round: request.approvalRound },
        requestBody,
      });
      return { request, changed: true, progress: progressOf(request, decisions) };
    });
  }

  /**
   * Withdraws this approver's approval before execution. An approved request whose approvals no
   * longer satisfy its policy goes back to pending_approval (the executor locks the same row, so it
   * either sees the revocation or has already recorded its POST, after which revoking is refused).
   */
  async revoke(id: string, who: Principal, reason: string | undefined, requestBody: unknown): Promise<DecisionOutcome> {
    return this.decide(id, who, async (m, request, decisions) => {
      this.assertBeforeExecution(request);
      const mine = decisions.find((d) => d.approverId === who.userId);
      if (mine?.decision !== 'approve') throw new NothingToRevoke(id);
      await this.repository.insertDecision(m, this.decisionRow(request, who, 'revoke', reason ?? null));
      const progress = progressOf(
        request,
        decisions.filter((d) => d.approverId !== who.userId),
      );
      const details = { round: request.approvalRound, approvals: progress.approvals, required: progress.required, approver: who.name };
      if (request.state === 'approved' && !progress.satisfied) {
        await this.transitions.apply(m, request, 'pending_approval', {
          actor: who.name,
          reason: reason ?? 'approval revoked',
          details,
          requestBody,
        });
      } else {
        await this.transitions.note(m, request, 'approval_revoked', {
          actor: who.name,
          reason: reason ?? 'approval revoked',
          details,
          requestBody,
        });
      }
      return { request, changed: true, progress };
    });
  }

  private decisionRow(request: WithdrawalRequest, who: Principal, decision: 'approve' | 'reject' | 'revoke', reason: string | null) {
    return {
      requestId: request.id,
      round: request.approvalRound,
      approverId: who.userId,
      approverName: who.name,
      approverRoles: who.roles,
      decision,
      reason,
      decidedAt: this.clock.now(),
    };
  }

  private assertBeforeExecution(request: WithdrawalRequest): void {
    if (request.state !== 'pending_approval' && request.state !== 'approved')
      throw new WithdrawalNotPending(request.id, request.state as WithdrawalState);
  }

  /** The requester or an admin, before anything was sent to Klear. */
  async cancel(id: string, who: Principal, reason: string | undefined, requestBody: unknown): Promise<WithdrawalRequest> {
    return this.repository.transaction(async (m) => {
      const request = await this.repository.lockRequest(m, id);
      if (!request) throw new NotFound('withdrawal', id);
      if (request.requesterId !== who.userId && !who.roles.includes('admin')) throw new CancelForbidden(id);
      return this.transitions.apply(m, request, 'cancelled', { actor: who.name, reason: reason ?? 'cancelled', requestBody });
    });
  }

  /** Ends a request whose time ran out (the expiry job, and deciders who come too late). */
  async expireIfDue(m: WithdrawalTx, request: WithdrawalRequest, actor: string): Promise<boolean> {
    const state = request.state as WithdrawalState;
    if ((state !== 'pending_approval' && state !== 'approved') || request.expiresAt.getTime() > this.clock.nowMs()) return false;
    await this.transitions.apply(m, request, 'expired', {
      actor,
      reason: `not executed by ${request.expiresAt.toISOString()}`,
      details: { expires_at: request.expiresAt.toISOString() },
    });
    return true;
  }

  async queue(who: Principal): Promise<{ items: QueueItem[]; headroom: HeadroomResult | null; headroomError: string | null }> {
    const rows = await this.repository.queueFor(who.userId, this.clock.now());
    let headroom: HeadroomResult | null = null;
    let headroomError: string | null = null;
    try {
      // Headroom before any of these is approved: what the buffer could still fund now.
      headroom = await this.headroom.assess(0n, 0n);
    } catch (error) {
      headroomError = error instanceof Error ? error.message : String(error);
    }
    return { items: rows.map((r) => ({ request: r, approvalsSoFar: r.approvalsSoFar })), headroom, headroomError };
  }

  private assertPending(request: WithdrawalRequest): void {
    if (request.state !== 'pending_approval') throw new WithdrawalNotPending(request.id, request.state as WithdrawalState);
  }

  private async decide(
    id: string,
    who: Principal,
    work: (m: WithdrawalTx, request: WithdrawalRequest, decisions: ApprovalWithCurrentRoles[]) => Promise<DecisionOutcome>,
  ): Promise<DecisionOutcome> {
    const result = await this.repository.transaction(async (m) => {
      const request = await this.repository.lockRequest(m, id);
      if (!request) throw new NotFound('withdrawal', id);
      if (request.requesterId === who.userId) throw new SelfApprovalForbidden(id);
      // The expiry commits even though the decision is refused: the request is over either way.
      if (await this.expireIfDue(m, request, 'system')) return 'expired' as const;
      return work(m, request, await this.repository.approvalsOfRound(m, id, request.approvalRound));
    });
    if (result === 'expired') throw new WithdrawalExpired(id);
    return result;
  }
}
