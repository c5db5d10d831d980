import type { HeadroomFiguresView, HeadroomNowView } from './headroom-responses.dto';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { PageQuery } from '@app/http';
import {
  ROLES,
  type Role,
  type WithdrawalApproval,
  type WithdrawalAttempt,
  type WithdrawalKlearAnswer,
  type WithdrawalManualResolution,
  type WithdrawalRequest,
  type WithdrawalStateChange,
} from '@app/db';
import { centicentsToDecimalString, formatUsdExact, IsCenticentsString, IsUsdAmount, moneyFields, parseCenticents } from '@app/money';
import type {
  ApprovalView,
  AttemptView,
  HeadroomView,
  HistoryView,
  KlearAnswerView,
  ManualResolutionView,
  WithdrawalPolicyView,
  WithdrawalView,
} from './withdrawal-responses.dto';
import {
  type HeadroomNow,
  type HeadroomResult,
  type StoredPolicy,
  WITHDRAWAL_STATES,
  type WithdrawalPolicyTerms,
  type WithdrawalState,
} from '@app/withdrawals';

export class CreateWithdrawalBody {
  @ApiProperty({
    example: '250000.00',
    description: 'USD as a string: positive, at most 2 decimals, no separators or exponent (a JSON number is refused)',
  })
  @IsUsdAmount()
  amount: string;

  @ApiProperty({ example: 'monthly sweep to the operating account', description: '1-500 characters' })
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  purpose: string;
}

/** A fresh second factor bound to one decision (the console's approve / reject dialog). */
export class StepUpBody {
  @ApiProperty({ enum: ['totp', 'passkey'] })
  @IsIn(['totp', 'passkey'])
  method: 'totp' | 'passkey';

  @ApiPropertyOptional({ example: '123456', description: 'totp: the current authenticator code (each code works once)' })
  @IsOptional()
  @IsString()
  @Matches(/^\d{6}$/, { message: 'six digits' })
  code?: string;

  @ApiPropertyOptional({ description: 'passkey: the nonce of POST /withdrawals/{id}/step-up' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  nonce?: string;

  @ApiPropertyOptional({ description: 'passkey: navigator.credentials.get() answer as JSON (AuthenticationResponseJSON)' })
  @IsOptional()
  @IsObject()
  assertion?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'the request version the person looked at: a request changed since is refused' })
  @IsOptional()
  @IsInt()
  version?: number;
}

export class ApproveWithdrawalBody {
  @ApiPropertyOptional({
    description:
      "optional comment: kept on the approval (`approvals[].reason` of GET /withdrawals/{id}, the approver queue) and in the audit row's details",
    maxLength: 500,
  })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  comment?: string;

  @ApiPropertyOptional({ type: StepUpBody, description: 'required for console sessions and for anyone with console credentials' })
  @IsOptional()
  @ValidateNested()
  @Type(() => StepUpBody)
  step_up?: StepUpBody;
}

export class StepUpChallengeBody {
  @ApiProperty({ enum: ['approve', 'reject'] })
  @IsIn(['approve', 'reject'])
  action: 'approve' | 'reject';
}

export class RejectWithdrawalBody {
  @ApiProperty({ example: 'purpose does not match the treasury plan', description: 'required, 1-500 characters' })
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  reason: string;

  @ApiPropertyOptional({ type: StepUpBody, description: 'required for console sessions and for anyone with console credentials' })
  @IsOptional()
  @ValidateNested()
  @Type(() => StepUpBody)
  step_up?: StepUpBody;
}

export class ProposeResolutionBody {
  @ApiProperty({
    enum: ['submitted', 'not_submitted'],
    description: "what Klear's records show: the POST created Klear withdrawal `klear_withdrawal_id`, or it never arrived",
  })
  @IsIn(['submitted', 'not_submitted'])
  conclusion: 'submitted' | 'not_submitted';

  @ApiPropertyOptional({ description: 'the Klear withdrawal id (required with submitted, refused with not_submitted)', maxLength: 100 })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  klear_withdrawal_id?: string;

  @ApiProperty({ description: "what in Klear's records shows it, 1-500 characters" })
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  reason: string;
}

export function resolutionView(r: WithdrawalManualResolution): ManualResolutionView {
  return {
    id: r.id,
    request_id: r.requestId,
    attempt_id: r.attemptId,
    conclusion: r.conclusion,
    klear_withdrawal_id: r.klearWithdrawalId,
    reason: r.reason,
    state: r.state,
    proposed_by: r.proposedByName,
    proposed_at: r.proposedAt.toISOString(),
    decided_by: r.decidedByName,
    decided_at: r.decidedAt?.toISOString() ?? null,
    decision_reason: r.decisionReason,
  };
}

export class CancelWithdrawalBody {
  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  reason?: string;
}

export class WithdrawalListQuery extends PageQuery {
  @ApiPropertyOptional({ enum: WITHDRAWAL_STATES })
  @IsOptional()
  @IsIn(WITHDRAWAL_STATES)
  state?: WithdrawalState;

  @ApiPropertyOptional({
    type: Boolean,
    description:
      'true: only requests a person must look at (failed wire, unconfirmed or conflicting Klear id, ambiguous outcome); false: only the others',
  })
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  needs_attention?: boolean;
}

export class PolicyTierBody {
  @ApiProperty({
    example: '1000000000',
    description: 'the tier applies from this amount (centicents, decimal string); the first tier starts at "0"',
  })
  @IsCenticentsString()
  min_amount_centicents: string;

  @ApiProperty({ example: 2, minimum: 1, maximum: 10 })
  @IsInt()
  @Min(1)
  @Max(10)
  approvals_required: number;

  @ApiProperty({ enum: ROLES, isArray: true, example: ['admin'], description: 'each role must be held by at least one of the approvers' })
  @IsArray()
  @ArrayMaxSize(4)
  @ArrayUnique()
  @IsIn(ROLES, { each: true })
  roles_required: Role[];
}

export class WithdrawalPolicyBody {
  @ApiProperty({ type: [PolicyTierBody] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => PolicyTierBody)
  tiers: PolicyTierBody[];

  @ApiProperty({ example: 86400, minimum: 60, maximum: 2592000 })
  @IsInt()
  @Min(60)
  @Max(2_592_000)
  expiry_seconds: number;

  @ApiProperty({ example: '0', description: 'kept in the buffer on top of payable obligations (centicents)' })
  @IsCenticentsString()
  reserve_floor_centicents: string;

  @ApiProperty({ example: '10000000000000', description: 'largest single withdrawal (centicents)' })
  @IsCenticentsString()
  cap_centicents: string;
}

export function policyTermsOf(body: WithdrawalPolicyBody): WithdrawalPolicyTerms {
  return {
    tiers: body.tiers.map((t) => ({
      minAmountCenticents: parseCenticents(t.min_amount_centicents),
      approvalsRequired: t.approvals_required,
      rolesRequired: t.roles_required,
    })),
    expirySeconds: body.expiry_seconds,
    reserveFloorCenticents: parseCenticents(body.reserve_floor_centicents),
    capCenticents: parseCenticents(body.cap_centicents),
  };
}

const money = moneyFields;

export function policyView(p: StoredPolicy): WithdrawalPolicyView {
  return {
    version: p.version,
    tiers: p.tiers.map((t) => ({
      ...money('min_amount', t.minAmountCenticents),
      approvals_required: t.approvalsRequired,
      roles_required: t.rolesRequired,
    })),
    expiry_seconds: p.expirySeconds,
    ...money('reserve_floor', p.reserveFloorCenticents),
    ...money('cap', p.capCenticents),
    created_at: p.createdAt.toISOString(),
    created_by: p.createdBy,
  };
}

export function withdrawalView(r: WithdrawalRequest): WithdrawalView {
  return {
    id: r.id,
    state: r.state,
    ...money('amount', r.amountCenticents),
    purpose: r.purpose,
    requester: { id: r.requesterId, name: r.requesterName },
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
    expires_at: r.expiresAt.toISOString(),
    policy_version: r.policyVersion,
    policy_snapshot: r.policySnapshot,
    approvals_required: r.approvalsRequired,
    roles_required: r.rolesRequired,
    approval_round: r.approvalRound,
    klear_withdrawal_id: r.klearWithdrawalId,
    klear_status: r.klearStatus,
    submitted_at: r.submittedAt?.toISOString() ?? null,
    headroom_at_request: r.headroomAtRequest,
    execution_hold: r.executionHold,
    needs_attention: r.attentionReason !== null,
    attention:
      r.attentionReason === null
        ? null
        : {
            reason: r.attentionReason,
            details: r.attentionDetails,
            raised_at: r.attentionRaisedAt?.toISOString() ?? null,
            notified_at: r.attentionNotifiedAt?.toISOString() ?? null,
          },
    version: r.version,
  };
}

export function approvalView(a: WithdrawalApproval): ApprovalView {
  return {
    round: a.round,
    approver: { id: a.approverId, name: a.approverName },
    approver_roles: a.approverRoles,
    decision: a.decision,
    reason: a.reason,
    decided_at: a.decidedAt.toISOString(),
  };
}

export function attemptView(a: WithdrawalAttempt): AttemptView {
  return {
    attempt_no: a.attemptNo,
    state: a.state,
    started_at: a.startedAt.toISOString(),
    posted_at: a.postedAt?.toISOString() ?? null,
    fencing_token: a.fencingToken,
    finished_at: a.finishedAt?.toISOString() ?? null,
    klear_withdrawal_id: a.klearWithdrawalId,
    error: a.error,
    available_before_centicents: centicentsToDecimalString(a.availableBeforeCenticents),
    locked_before_centicents: centicentsToDecimalString(a.lockedBeforeCenticents),
    resolution: a.resolution,
  };
}

export function klearAnswerView(a: WithdrawalKlearAnswer): KlearAnswerView {
  return {
    attempt_id: a.attemptId,
    received_at: a.receivedAt.toISOString(),
    outcome: a.outcome,
    http_status: a.httpStatus,
    klear_withdrawal_id: a.klearWithdrawalId,
    klear_code: a.klearCode,
    message: a.message,
    body: a.body,
  };
}

export function historyView(h: WithdrawalStateChange): HistoryView {
  return {
    from: h.fromState,
    to: h.toState,
    actor: h.actor,
    reason: h.reason,
    details: h.details,
    at: h.at.toISOString(),
    audit_seq: h.auditSeq,
  };
}

export function headroomView(h: HeadroomResult | null): HeadroomView | null {
  return h
    ? { headroom_centicents: centicentsToDecimalString(h.headroom), headroom_usd: formatUsdExact(h.headroom), figures: h.figures }
    : null;
}

export function headroomNowView(h: HeadroomNow, policyVersion: number, at: Date): HeadroomNowView {
  return {
    as_of: at.toISOString(),
    policy_version: policyVersion,
    headroom_centicents: centicentsToDecimalString(h.check.headroom),
    headroom_usd: formatUsdExact(h.check.headroom),
    pending_approval: {
      count: h.pendingApproval.ids.length,
      total_centicents: centicentsToDecimalString(h.pendingApproval.total),
      total_usd: formatUsdExact(h.pendingApproval.total),
      request_ids: h.pendingApproval.ids,
    },
    headroom_after_pending_approval_centicents: centicentsToDecimalString(h.afterPendingApproval),
    headroom_after_pending_approval_usd: formatUsdExact(h.afterPendingApproval),
    figures: h.check.figures as unknown as HeadroomFiguresView,
  };
}
