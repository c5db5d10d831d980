import { Body, Controller, Delete, Get, HttpCode, Ip, Param, ParseUUIDPipe, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import {
  AuthFailureLimiter,
  ConsoleAuthService,
  CurrentPrincipal,
  InvitationRefused,
  type Principal,
  Public,
  Roles,
  UsersService,
} from '@app/auth';
import { NotFound } from '@app/errors';
import { decodeCursor, toPage } from '@app/http';
import { AdminProposals } from '../admin/admin-proposals.service';
import { ApiErrors, ApiPageResponse } from '../openapi';
import { ReadRoute } from '../read-route';
import {
  AdminProposalView,
  AppliedProposalView,
  CreatedUserView,
  InvitationView,
  IssuedTokenView,
  MeView,
  PatchedUserView,
  RedeemedInvitationView,
  TokenListView,
  TokenView,
  UserListView,
} from './user-responses.dto';
import {
  CreateUserBody,
  invitationView,
  IssueTokenBody,
  PatchUserBody,
  ProposalApproveBody,
  ProposalListQuery,
  ProposalRejectBody,
  proposalView,
  RedeemInvitationBody,
  tokenView,
  userView,
} from './users.dto';

const uuid = new ParseUUIDPipe();

@ApiTags('users')
@ApiBearerAuth()
@ApiErrors()
@Controller()
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly proposals: AdminProposals,
  ) {}

  @ReadRoute('users', 'admin', UserListView, 'People and scripts with their tokens (never the token itself)')
  async list(): Promise<UserListView> {
    return { data: (await this.users.listUsers()).map(userView) as UserListView['data'], next_cursor: null };
  }

  @Post('users')
  @Roles('admin')
  @ApiCreatedResponse({
    type: CreatedUserView,
    description: 'created at once (a service account, or a person without approver/admin): the user and, for a person, the invitation',
  })
  @ApiAcceptedResponse({
    type: CreatedUserView,
    description: 'a proposal a second admin approves: id null, the proposals, and the invitation (redeemable once approved)',
  })
  @ApiOperation({
    summary:
      'Create a user. A person gets a one-time invitation (in this answer only); with approver or admin the creation is a proposal a second admin approves (202), and the invitation works once it is approved. A service account (no approver/admin) is created at once, without invitation.',
  })
  async create(
    @Body() body: CreateUserBody,
    @CurrentPrincipal() who: Principal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CreatedUserView> {
    const result = await this.proposals.createUser({ name: body.name, roles: body.roles, kind: body.kind ?? 'person' }, who);
    res.status(result.user ? 201 : 202);
    return {
      ...(result.user ? userView(result.user) : { id: null, name: body.name, kind: 'person', roles: body.roles }),
      proposals: result.proposals.map(proposalView),
      invitation: result.invitation ? invitationView(result.invitation) : null,
    };
  }

  @Patch('users/:id')
  @Roles('admin')
  @ApiOkResponse({ type: PatchedUserView })
  @ApiOperation({
    summary:
      'Change roles or disable: removing roles and disabling take effect at once (tokens revoked); granting approver/admin and re-enabling become proposals',
  })
  async patch(@Param('id', uuid) id: string, @Body() body: PatchUserBody, @CurrentPrincipal() who: Principal): Promise<PatchedUserView> {
    const result = await this.proposals.patchUser(id, body, who);
    return { ...userView(result.user!), proposals: result.proposals.map(proposalView) };
  }

  @Post('users/:id/invitations')
  @Roles('admin')
  @ApiCreatedResponse({ type: InvitationView })
  @ApiOperation({
    summary:
      'A new one-time invitation for a person who never redeemed one (the earlier one expired); refused once they made their own credential',
  })
  async reinvite(@Param('id', uuid) id: string, @CurrentPrincipal() who: Principal) {
    return invitationView(await this.users.reinvite(id, who));
  }

  @Post('users/:id/tokens')
  @Roles('admin')
  @ApiCreatedResponse({ type: IssuedTokenView, description: 'the token record and the secret token itself, in this answer only' })
  @ApiOperation({
    summary:
      'Issue a token for a service account (no approver/admin role): shown once. Refused (403) for a person: people make their own (POST /me/tokens)',
  })
  async issue(@Param('id', uuid) id: string, @Body() body: IssueTokenBody, @CurrentPrincipal() who: Principal): Promise<IssuedTokenView> {
    const issued = await this.users.issueServiceToken(id, body.label, who);
    return { ...tokenView(issued.record), token: issued.token };
  }

  @Delete('tokens/:id')
  @Roles('viewer')
  @ApiOkResponse({ type: TokenView, description: 'the token, revoked' })
  @ApiOperation({ summary: "Revoke a token, effective at once: one of the caller's own, or any token for an admin" })
  async revoke(@Param('id', uuid) id: string, @CurrentPrincipal() who: Principal) {
    return tokenView(await this.users.revokeToken(id, who.name, who));
  }

  @ReadRoute('me', 'viewer', MeView, 'Who the caller is')
  async me(@CurrentPrincipal() who: Principal): Promise<MeView> {
    const user = await this.users.findUser(who.userId);
    if (!user) throw new NotFound('user', who.userId);
    return { ...userView(user), token_id: who.tokenId };
  }

  @ReadRoute('me/tokens', 'viewer', TokenListView, "The caller's own tokens (never the token itself), with their expiry")
  async myTokens(@CurrentPrincipal() who: Principal): Promise<TokenListView> {
    return { data: (await this.users.listOwnTokens(who.userId)).map(tokenView), next_cursor: null };
  }

  @Post('me/tokens')
  @Roles('viewer')
  @ApiCreatedResponse({ type: IssuedTokenView, description: 'the token record and the secret token itself, in this answer only' })
  @ApiOperation({ summary: 'A new token for the caller: shown once in this answer, stored as a hash, expires after API_TOKEN_TTL_DAYS' })
  async newToken(@Body() body: IssueTokenBody, @CurrentPrincipal() who: Principal): Promise<IssuedTokenView> {
    const issued = await this.users.issueOwnToken(who, body.label);
    return { ...tokenView(issued.record), token: issued.token };
  }
}

/** Redeeming an invitation needs no token (the person has none yet): the code is the credential, counted like one. */
@ApiTags('users')
@ApiErrors()
@Controller('invitations')
export class InvitationsController {
  constructor(
    private readonly users: UsersService,
    private readonly failures: AuthFailureLimiter,
    private readonly consoleAuth: ConsoleAuthService,
  ) {}

  @Post('redeem')
  @Public()
  @HttpCode(201)
  @ApiCreatedResponse({
    type: RedeemedInvitationView,
    description:
      'the person, their first token (the secret, in this answer only) and, with a password, their console sign-in (the TOTP secret, in this answer only)',
  })
  @ApiOperation({
    summary:
      "Redeem a one-time invitation: makes the person's own first token (shown once) and says when and by whom the invitation was issued. With `password`, also their console sign-in: the answer's `console` carries the new TOTP secret and its otpauth:// URI (shown once)",
  })
  async redeem(@Body() body: RedeemInvitationBody, @Ip() ip: string): Promise<RedeemedInvitationView> {
    await this.failures.assertNotBlocked(ip ?? 'unknown');
    try {
      const r = await this.users.redeemInvitation(body.code, body.label);
      // The person sets their own password and enrols TOTP (the console's invitation page); the password's length was checked before the code was spent.
      const enrolled = body.password === undefined ? null : await this.consoleAuth.setCredentials(r.user.id, body.password, r.user.name);
      return {
        user: userView(r.user),
        console: enrolled ? { username: r.user.name, totp_secret: enrolled.secret, otpauth_uri: enrolled.uri } : null,
        invitation: {
          id: r.invitation.id,
          issued_at: r.invitation.issuedAt.toISOString(),
          issued_by: r.invitation.issuedBy,
          redeemed_at: r.invitation.redeemedAt!.toISOString(),
        },
        ...tokenView(r.issued.record),
        token: r.issued.token,
      };
    } catch (error) {
      if (error instanceof InvitationRefused && error.code === 'INVITATION_UNKNOWN') await this.failures.recordFailure(ip ?? 'unknown');
      throw error;
    }
  }
}

@ApiTags('users')
@ApiBearerAuth()
@ApiErrors()
@Controller('admin-proposals')
export class AdminProposalsController {
  constructor(private readonly proposals: AdminProposals) {}

  @Get()
  @Roles('admin')
  @ApiPageResponse(AdminProposalView)
  @ApiOperation({ summary: 'Dual-control proposals, newest first (?state=pending for those waiting for a second admin)' })
  async list(@Query() q: ProposalListQuery) {
    const limit = q.limit ?? 50;
    const after = decodeCursor(q.cursor, ['timestamp', 'uuid']);
    const rows = await this.proposals.list(q.state, limit + 1, after ? { at: after[0], id: after[1] } : undefined);
    return toPage(rows, limit, (p) => [p.proposedAt.toISOString(), p.id], proposalView);
  }

  @ReadRoute(':id', 'admin', AdminProposalView, 'One proposal')
  async get(@Param('id', uuid) id: string) {
    return proposalView(await this.proposals.get(id));
  }

  @Post(':id/approve')
  @Roles('admin')
  @HttpCode(200)
  @ApiOkResponse({ type: AppliedProposalView, description: 'the proposal, applied, with what it did' })
  @ApiOperation({ summary: 'Approve: the change takes effect now. Never the proposer, never the user the change concerns (403)' })
  async approve(
    @Param('id', uuid) id: string,
    @Body() body: ProposalApproveBody,
    @CurrentPrincipal() who: Principal,
  ): Promise<AppliedProposalView> {
    const outcome = await this.proposals.approve(id, who, body.comment, body);
    return { ...proposalView(outcome.proposal), effect: outcome.effect };
  }

  @Post(':id/reject')
  @Roles('admin')
  @HttpCode(200)
  @ApiOkResponse({ type: AdminProposalView, description: 'the proposal, rejected' })
  @ApiOperation({ summary: 'Reject (or, by the proposer, withdraw) a pending proposal' })
  async reject(@Param('id', uuid) id: string, @Body() body: ProposalRejectBody, @CurrentPrincipal() who: Principal) {
    return proposalView(await this.proposals.reject(id, who, body.reason, body));
  }
}
