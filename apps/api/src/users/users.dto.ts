import type { AdminProposalView, InvitationView, TokenView, UserView, UserWithTokensView } from './user-responses.dto';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  MinLength,
} from 'class-validator';
import { type IssuedInvitation, ROLES, type Role } from '@app/auth';
import { type AdminProposal, type ApiToken, type AppUser, USER_KINDS, type UserKind } from '@app/db';
import { PageQuery } from '@app/http';

export class CreateUserBody {
  @ApiProperty({ example: 'alice', description: '1-64 characters: letters, digits, . _ - @' })
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  @Matches(/^[A-Za-z0-9._@-]+$/, { message: 'name may contain letters, digits, . _ - @ only' })
  name: string;

  @ApiProperty({ enum: ROLES, isArray: true, example: ['operator'] })
  @ArrayMinSize(1)
  @ArrayMaxSize(4)
  @ArrayUnique()
  @IsIn(ROLES, { each: true })
  roles: Role[];

  @ApiPropertyOptional({
    enum: USER_KINDS,
    default: 'person',
    description:
      'person: arrives with a one-time invitation and makes their own tokens; service: a script (never approver/admin) whose tokens an admin issues',
  })
  @IsOptional()
  @IsIn(USER_KINDS)
  kind?: UserKind;
}

export class PatchUserBody {
  @ApiPropertyOptional({
    enum: ROLES,
    isArray: true,
    description: 'the roles wanted: removals take effect at once; approver/admin added become a proposal',
  })
  @IsOptional()
  @ArrayMaxSize(4)
  @ArrayUnique()
  @IsIn(ROLES, { each: true })
  roles?: Role[];

  @ApiPropertyOptional({ description: 'true: disabled at once, every token revoked; false on a disabled user: a proposal to re-enable' })
  @IsOptional()
  @IsBoolean()
  disabled?: boolean;
}

export class IssueTokenBody {
  @ApiProperty({ example: 'reconciliation script' })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  label: string;
}

export class RedeemInvitationBody {
  @ApiProperty({ description: 'the one-time invitation code (ksi_...)' })
  @IsString()
  @MaxLength(100)
  code: string;

  @ApiProperty({ example: 'laptop', description: 'a label for the token this makes' })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  label: string;

  @ApiPropertyOptional({
    example: 'correct horse battery staple',
    description:
      "the person's own console password (at least 12 characters): the redemption then also enrols them in the console and answers their new TOTP secret (shown once)",
  })
  @IsOptional()
  @IsString()
  @MinLength(12)
  @MaxLength(200)
  password?: string;
}

export class ProposalApproveBody {
  @ApiPropertyOptional({ maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  comment?: string;
}

export class ProposalRejectBody {
  @ApiProperty({ description: 'required, 1-500 characters' })
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  reason: string;
}

export class ProposalListQuery extends PageQuery {
  @ApiPropertyOptional({ enum: ['pending', 'applied', 'rejected', 'void'] })
  @IsOptional()
  @IsIn(['pending', 'applied', 'rejected', 'void'])
  state?: string;
}

export function tokenView(t: ApiToken): TokenView {
  return {
    id: t.id,
    user_id: t.userId,
    label: t.label,
    token_prefix: t.tokenPrefix,
    issued_by: t.issuedBy,
    created_at: t.createdAt.toISOString(),
    expires_at: t.expiresAt.toISOString(),
    last_used_at: t.lastUsedAt?.toISOString() ?? null,
    revoked_at: t.revokedAt?.toISOString() ?? null,
  };
}

export function userView(u: AppUser & { tokens?: ApiToken[] }): UserView & Partial<Pick<UserWithTokensView, 'tokens'>> {
  return {
    id: u.id,
    name: u.name,
    kind: u.kind,
    roles: u.roles,
    created_at: u.createdAt.toISOString(),
    disabled_at: u.disabledAt?.toISOString() ?? null,
    ...(u.tokens ? { tokens: u.tokens.map(tokenView) } : {}),
  };
}

export function proposalView(p: AdminProposal): AdminProposalView {
  return {
    id: p.id,
    kind: p.kind,
    state: p.state,
    target_user_id: p.targetUserId,
    payload: p.payload,
    grants: p.grants,
    proposed_by: p.proposedBy,
    proposed_by_name: p.proposedByName,
    proposed_at: p.proposedAt.toISOString(),
    expires_at: p.expiresAt.toISOString(),
    decided_by: p.decidedBy,
    decided_by_name: p.decidedByName,
    decided_at: p.decidedAt?.toISOString() ?? null,
    decision_reason: p.decisionReason,
  };
}

/** The invitation code is in this answer only (stored as a hash): hand it to the person. */
export function invitationView(i: IssuedInvitation): InvitationView {
  return {
    id: i.record.id,
    code: i.code,
    issued_at: i.record.issuedAt.toISOString(),
    expires_at: i.record.expiresAt.toISOString(),
    redeemable: i.record.userId !== null,
  };
}
