import { Injectable } from '@nestjs/common';
import { requestBodyHash } from '@app/audit';
import type { Principal } from '@app/auth';
import { Clock } from '@app/clock';
import type { WithdrawalRequest } from '@app/db';
import { centicentsToDecimalString, parseUsd } from '@app/money';
import { BufferHeadroomService } from './buffer-headroom.service';
import {
  AmountAboveCap,
  IdempotencyKeyMissing,
  IdempotencyKeyReused,
  IdempotencyKeyTaken,
  InsufficientHeadroom,
} from './withdrawal-errors';
import { policyToSnapshot, tierFor } from './withdrawal-policy';
import { WithdrawalPolicyService } from './withdrawal-policy.service';
import { WithdrawalTransitions } from './withdrawal-transitions';
import { WithdrawalRepository } from './withdrawal.repository';

export interface NewWithdrawal {
  amount: string;
  purpose: string;
}

export interface RequestOutcome {
  request: WithdrawalRequest;
  /** true: the same key and body were seen before; this is that request, nothing new was created. */
  replayed: boolean;
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,200}$/;

/** `POST /withdrawals`: strict amount, cap, headroom on a fresh balance, idempotent per requester and key. */
@Injectable()
export class WithdrawalRequestService {
  constructor(
    private readonly repository: WithdrawalRepository,
    private readonly policies: WithdrawalPolicyService,
    private readonly headroom: BufferHeadroomService,
    private readonly transitions: WithdrawalTransitions,
    private readonly clock: Clock,
  ) {}

  async request(who: Principal, idempotencyKey: string | undefined, body: NewWithdrawal): Promise<RequestOutcome> {
    if (idempotencyKey === undefined || idempotencyKey === '') throw new IdempotencyKeyMissing('the Idempotency-Key header is required');
    if (!IDEMPOTENCY_KEY.test(idempotencyKey)) throw new IdempotencyKeyMissing('1-200 characters: letters, digits, . _ : -');
    const hash = requestBodyHash({ amount: body.amount, purpose: body.purpose });
    const replay = await this.replayOf(who.userId, idempotencyKey, hash);
    if (replay) return replay;

    const amount = parseUsd(body.amount, { maxDecimals: 2, requirePositive: true });
    const policy = await this.policies.current();
    if (amount > policy.capCenticents) {
      throw new AmountAboveCap({
        amount_centicents: centicentsToDecimalString(amount),
        cap_centicents: centicentsToDecimalString(policy.capCenticents),
        policy_version: policy.version,
      });
    }
    const tier = tierFor(policy, amount);
    const check = await this.headroom.assess(amount, policy.reserveFloorCenticents);
    if (!check.ok) throw new InsufficientHeadroom(check.figures);

    try {
      return await this.repository.transaction(async (m) => {
        const request = await this.repository.insertRequest(m, {
          amountCenticents: amount,
          purpose: body.purpose,
          requesterId: who.userId,
          requesterName: who.name,
          idempotencyKey,
          requestHash: hash,
          state: 'pending_approval',
          policyVersion: policy.version,
          policySnapshot: policyToSnapshot(policy) as unknown as Record<string, unknown>,
          approvalsRequired: tier.approvalsRequired,
          rolesRequired: tier.rolesRequired,
          approvalRound: 1,
          expiresAt: new Date(this.clock.nowMs() + policy.expirySeconds * 1000),
          headroomAtRequest: check.figures,
          executionHold: null,
          klearWithdrawalId: null,
          submittedAt: null,
          klearStatus: null,
          attentionReason: null,
          attentionDetails: null,
          attentionRaisedAt: null,
          attentionNotifiedAt: null,
        });
        await this.transitions.created(m, request, {
          actor: who.name,
          reason: body.purpose,
          details: {
            amount_centicents: amount.toString(),
            policy_version: policy.version,
            approvals_required: tier.approvalsRequired,
            roles_required: tier.rolesRequired,
            headroom: check.figures,
          },
          requestBody: body,
        });
        return { request, replayed: false };
      });
    } catch (error) {
      // Two identical requests raced on the unique (requester, key): the loser answers like a replay.
      if (error instanceof IdempotencyKeyTaken) {
        const again = await this.replayOf(who.userId, idempotencyKey, hash);
        if (again) return again;
      }
      throw error;
    }
  }

  private async replayOf(requesterId: string, key: string, hash: string): Promise<RequestOutcome | null> {
    const existing = await this.repository.findByIdempotencyKey(requesterId, key);
    if (!existing) return null;
    if (existing.requestHash !== hash) throw new IdempotencyKeyReused(key, existing.id);
    return { request: existing, replayed: true };
  }
}
