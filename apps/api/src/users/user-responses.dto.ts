import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ADMIN_PROPOSAL_KINDS, ADMIN_PROPOSAL_STATES, ROLES, USER_KINDS } from '@app/db';
import { nullableText, nullableTime } from '../openapi-properties';

/*
 * The answers of the admin-proposal, user, token, invitation and session routes, as documented in
 * /docs-json (test/foundation/openapi-responses.test.ts holds every answer to them). A secret (a token,
 * an invitation code) is in the one answer that creates it, and documented there as such.
 */

export class AdminProposalView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ADMIN_PROPOSAL_KINDS }) kind: string;
  @ApiProperty({
    enum: ADMIN_PROPOSAL_STATES,
    description: 'pending until a second admin approves (applied) or rejects it; void when expired or overtaken',
  })
  state: string;
  @ApiProperty({
    type: String,
    nullable: true,
    format: 'uuid',
    description: 'the user the change is about (null for a policy change or a user still to create)',
  })
  target_user_id: string | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'the change as proposed (a user: name, roles; a policy: its terms, centicents as decimal strings)',
  })
  payload: Record<string, unknown>;
  @ApiProperty({ enum: ROLES, isArray: true, example: ['approver'], description: 'privileged roles the change gives its target' })
  grants: string[];
  @ApiProperty({ format: 'uuid' }) proposed_by: string;
  @ApiProperty({ example: 'test-admin' }) proposed_by_name: string;
  @ApiProperty({ format: 'date-time' }) proposed_at: string;
  @ApiProperty({ format: 'date-time' }) expires_at: string;
  @ApiProperty({ type: String, nullable: true, format: 'uuid' }) decided_by: string | null;
  @ApiProperty(nullableText('second-admin')) decided_by_name: string | null;
  @ApiProperty(nullableTime()) decided_at: string | null;
  @ApiProperty(nullableText()) decision_reason: string | null;
}

export class AppliedProposalView extends AdminProposalView {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { policy_version: 3 },
    description:
      'what the change did: a user {user_id, name, roles}, roles {user_id, roles}, re-enabled {user_id, enabled}, a policy {policy_version}',
  })
  effect: Record<string, unknown>;
}

export class TokenView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) user_id: string;
  @ApiProperty({ example: 'laptop' }) label: string;
  @ApiProperty({ example: 'klr_3f9a', description: 'the first characters, to tell tokens apart (never the token itself)' })
  token_prefix: string;
  @ApiProperty({ example: 'test-admin' }) issued_by: string;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ format: 'date-time' }) expires_at: string;
  @ApiProperty(nullableTime()) last_used_at: string | null;
  @ApiProperty(nullableTime('null: in force until it expires')) revoked_at: string | null;
}

/** A token in the one answer that makes it. */
export class IssuedTokenView extends TokenView {
  @ApiProperty({
    example: 'klr_3f9a...',
    description: 'the secret bearer token, shown in this answer only (stored as a hash): keep it now',
  })
  token: string;
}

export class UserView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'dana.ops' }) name: string;
  @ApiProperty({ enum: USER_KINDS }) kind: string;
  @ApiProperty({ enum: ROLES, isArray: true, example: ['operator'] }) roles: string[];
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty(nullableTime('null: enabled')) disabled_at: string | null;
}

export class UserWithTokensView extends UserView {
  @ApiProperty({ type: [TokenView], description: 'the tokens (never the token itself)' }) tokens: TokenView[];
}

export class UserListView {
  @ApiProperty({ type: [UserWithTokensView] }) data: UserWithTokensView[];
  @ApiProperty({ type: String, nullable: true, description: 'always null: one page' }) next_cursor: string | null;
}

export class TokenListView {
  @ApiProperty({ type: [TokenView] }) data: TokenView[];
  @ApiProperty({ type: String, nullable: true, description: 'always null: one page' }) next_cursor: string | null;
}

export class InvitationView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({
    example: 'inv_Xr3...',
    description: 'the one-time invitation code, shown in this answer only (stored as a hash): hand it to the person',
  })
  code: string;
  @ApiProperty({ format: 'date-time' }) issued_at: string;
  @ApiProperty({ format: 'date-time' }) expires_at: string;
  @ApiProperty({ description: 'false while the user waits for a second admin to approve their creation' }) redeemable: boolean;
}

export class CreatedUserView {
  @ApiProperty({ type: String, nullable: true, format: 'uuid', description: 'null while the creation waits for a second admin (202)' }) id:
    string | null;
  @ApiProperty({ example: 'dana.ops' }) name: string;
  @ApiProperty({ enum: USER_KINDS }) kind: string;
  @ApiProperty({ enum: ROLES, isArray: true, example: ['operator'] }) roles: string[];
  @ApiPropertyOptional({ format: 'date-time', description: 'absent while the creation is a proposal' }) created_at?: string;
  @ApiPropertyOptional({ type: String, nullable: true, format: 'date-time', description: 'absent while the creation is a proposal' })
  disabled_at?: string | null;
  @ApiProperty({ type: [AdminProposalView], description: 'the proposals a second admin must approve (empty when created at once)' })
  proposals: AdminProposalView[];
  @ApiProperty({
    type: InvitationView,
    nullable: true,
    description: 'a person: their one-time invitation (the secret code, in this answer only); null for a service account',
  })
  invitation: InvitationView | null;
}

export class PatchedUserView extends UserView {
  @ApiProperty({
    type: [AdminProposalView],
    description: 'granting approver/admin or re-enabling: the proposals a second admin must approve',
  })
  proposals: AdminProposalView[];
}

export class MeView extends UserView {
  @ApiProperty({
    type: String,
    nullable: true,
    format: 'uuid',
    description: 'the token the call was made with (null in a console session)',
  })
  token_id: string | null;
}

export class ConsoleEnrolmentView {
  @ApiProperty({ example: 'dana.ops' }) username: string;
  @ApiProperty({
    example: 'JBSWY3DPEHPK3PXP',
    description: 'the new TOTP secret, shown in this answer only: put it in an authenticator app now',
  })
  totp_secret: string;
  @ApiProperty({
    example: 'otpauth://totp/Klear%20back%20office:dana.ops?secret=JBSWY3DPEHPK3PXP&issuer=Klear%20back%20office',
    description: 'the same secret as an otpauth:// URI (QR code), shown once',
  })
  otpauth_uri: string;
}

export class RedeemedInvitationInfoView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'date-time' }) issued_at: string;
  @ApiProperty({ example: 'test-admin' }) issued_by: string;
  @ApiProperty({ format: 'date-time' }) redeemed_at: string;
}

export class RedeemedInvitationView extends IssuedTokenView {
  @ApiProperty({ type: UserView }) user: UserView;
  @ApiProperty({
    type: ConsoleEnrolmentView,
    nullable: true,
    description: 'with `password`: the console sign-in made (its TOTP secret shown once); null without',
  })
  console: ConsoleEnrolmentView | null;
  @ApiProperty({ type: RedeemedInvitationInfoView }) invitation: RedeemedInvitationInfoView;
}

export class SessionPersonView {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'dana.ops' }) name: string;
  @ApiProperty({ enum: ROLES, isArray: true, example: ['approver'] }) roles: string[];
}

export class SessionView {
  @ApiProperty({ type: SessionPersonView }) user: SessionPersonView;
  @ApiProperty(
    nullableText('q9Zx...', 'send back in X-CSRF-Token with every state-changing call made with the cookie; null with an API token'),
  )
  csrf_token: string | null;
  @ApiProperty(nullableTime('the session ends after this much idleness (moves with each call); null with an API token')) idle_expires_at:
    string | null;
  @ApiProperty(nullableTime('the session ends then, whatever happens; null with an API token')) absolute_expires_at: string | null;
  @ApiProperty({ example: 1, description: 'passkeys the person has enrolled' }) passkeys: number;
}

export class PasskeyRegisteredView {
  @ApiProperty({ example: 'AbC1...', description: 'the new credential id (base64url)' }) credential_id: string;
  @ApiProperty({ example: 1, description: 'passkeys the person has enrolled now' }) passkeys: number;
}
