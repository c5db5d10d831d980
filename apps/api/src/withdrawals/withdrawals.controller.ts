import { Body, Controller, Get, Headers, HttpCode, Inject, Param, ParseUUIDPipe, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { CurrentPrincipal, type Principal, Roles } from '@app/auth';
import { InvalidInput, NotFound } from '@app/errors';
import { decodeCursor, toPage } from '@app/http';
import {
  BufferHeadroomService,
  WithdrawalDecisionService,
  WithdrawalManualResolutions,
  WithdrawalPolicyService,
  WithdrawalRepository,
  WithdrawalRequestService,
} from '@app/withdrawals';
import { relyingPartyOf } from '../console/relying-party';
import { PendingWithdrawals } from './pending-withdrawals';
import { WithdrawalStepUpService } from './step-up.service';
import { AdminProposals } from '../admin/admin-proposals.service';
import { ApiErrors, ApiPageResponse } from '../openapi';
import { AdminProposalView } from '../users/user-responses.dto';
import { proposalView } from '../users/users.dto';
import {
  ApproveWithdrawalBody,
  approvalView,
  attemptView,
  CancelWithdrawalBody,
  CreateWithdrawalBody,
  headroomView,
  historyView,
  klearAnswerView,
  policyTermsOf,
  policyView,
  ProposeResolutionBody,
  RejectWithdrawalBody,
  StepUpChallengeBody,
  resolutionView,
  WithdrawalListQuery,
  WithdrawalPolicyBody,
  withdrawalView,
} from './withdrawals.dto';
import {
  ApprovalOutcomeView,
  ManualResolutionsView,
  ManualResolutionView,
  PendingWithdrawalsView,
  ResolvedWithdrawalView,
  RevocationOutcomeView,
  StepUpChallengeView,
  StepUpEvidenceListView,
  WithdrawalDetailView,
  WithdrawalPolicyView,
  WithdrawalQueueView,
  WithdrawalView,
} from './withdrawal-responses.dto';

const uuid = new ParseUUIDPipe();

@ApiTags('withdrawals')
@ApiBearerAuth()
@ApiErrors()
@Controller('withdrawals')
export class WithdrawalsController {
  constructor(
    private readonly requests: WithdrawalRequestService,
    private readonly decisions: WithdrawalDecisionService,
    private readonly repository: WithdrawalRepository,
    private readonly stepUp: WithdrawalStepUpService,
    private readonly pendingList: PendingWithdrawals,
    private readonly headroom: BufferHeadroomService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly manual: WithdrawalManualResolutions,
  ) {}

  @Post()
  @Roles('operator')
  @ApiCreatedResponse({
    type: WithdrawalView,
    description: 'the new request (200 with the same answer on a replay of the same key and body)',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: true,
    description: 'the same key and body give the same request (200 on a replay); another body is a 409',
  })
  @ApiOperation({ summary: 'Request a withdrawal from the settlement buffer (201; 422 with every figure when headroom is short)' })
  async create(
    @Body() body: CreateWithdrawalBody,
    @Headers('idempotency-key') key: string | undefined,
    @CurrentPrincipal() who: Principal,
    @Res({ passthrough: true }) res: Response,
  ) {
    const outcome = await this.requests.request(who, key, { amount: body.amount, purpose: body.purpose });
    res.status(outcome.replayed ? 200 : 201);
    if (outcome.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return withdrawalView(outcome.request);
  }

  @Get()
  @Roles('viewer')
  @ApiPageResponse(WithdrawalView)
  @ApiOperation({ summary: 'Withdrawal requests, newest first (?state=, ?needs_attention=true for those a person must look at)' })
  async list(@Query() q: WithdrawalListQuery) {
    const limit = q.limit ?? 50;
    const after = decodeCursor(q.cursor, ['timestamp', 'uuid']);
    const rows = await this.repository.list({
      state: q.state,
      needsAttention: q.needs_attention,
      limit: limit + 1,
      after: after ? { createdAt: after[0], id: after[1] } : undefined,
    });
    return toPage(rows, limit, (r) => [r.createdAt.toISOString(), r.id], withdrawalView);
  }

  @Get('queue')
  @Roles('approver')
  @ApiOkResponse({ type: WithdrawalQueueView })
  @ApiOperation({ summary: "Requests waiting for the caller's decision, oldest first, with the current headroom" })
  async queue(@CurrentPrincipal() who: Principal): Promise<WithdrawalQueueView> {
    const { items, headroom, headroomError } = await this.decisions.queue(who);
    const now = this.clock.nowMs();
    return {
      data: items.map(({ request, approvalsSoFar }) => ({
        ...withdrawalView(request),
        age_seconds: Math.floor((now - request.createdAt.getTime()) / 1000),
        approvals_so_far: approvalsSoFar,
        fits_current_headroom: headroom ? headroom.headroom >= request.amountCenticents : null,
      })),
      next_cursor: null,
      headroom: headroomView(headroom),
      headroom_error: headroomError,
    };
  }

  @Get('pending')
  @Roles('viewer')
  @ApiOkResponse({ type: PendingWithdrawalsView })
  @ApiOperation({
    summary:
      "Every request waiting for approval (the console's queue), oldest first: approvals so far and by whom, the tier, the headroom now, and whether the caller may decide (and why not)",
  })
  async pending(@CurrentPrincipal() who: Principal): Promise<PendingWithdrawalsView> {
    const now = this.clock.now();
    let headroom = null;
    let headroomError: string | null = null;
    try {
      headroom = await this.headroom.assess(0n, 0n);
    } catch (error) {
      headroomError = error instanceof Error ? error.message : String(error);
    }
    const items = await this.pendingList.list(who, now);
    return {
      now: now.toISOString(),
      data: items.map((item) => ({
        ...withdrawalView(item.request),
        age_seconds: Math.floor((now.getTime() - item.request.createdAt.getTime()) / 1000),
        tier: { approvals_required: item.request.approvalsRequired, roles_required: item.request.rolesRequired },
        approvals: item.approvals,
        headroom_at_request_centicents:
          (item.request.headroomAtRequest as { headroom_centicents?: string } | null)?.headroom_centicents ?? null,
        fits_current_headroom: headroom ? headroom.headroom >= item.request.amountCenticents : null,
        you: item.you,
      })),
      headroom: headroomView(headroom),
      headroom_error: headroomError,
    };
  }

  @Post(':id/step-up')
  @Roles('approver')
  @HttpCode(200)
  @ApiOkResponse({ type: StepUpChallengeView })
  @ApiOperation({
    summary:
      'A single-use WebAuthn challenge for deciding on this request: derived from its id, amount, purpose and version (and a nonce); answer with the passkey assertion in step_up of approve / reject',
  })
  async stepUpChallenge(
    @Param('id', uuid) id: string,
    @Body() body: StepUpChallengeBody,
    @CurrentPrincipal() who: Principal,
    @Req() req: Request,
  ): Promise<StepUpChallengeView> {
    return this.stepUp.challenge(id, body.action, who, relyingPartyOf(this.config, req));
  }

  @Get(':id/step-ups')
  @Roles('viewer')
  @ApiOkResponse({ type: StepUpEvidenceListView })
  @ApiOperation({
    summary:
      'The second factor given with each decision; passkey assertions are verified again from the stored public key and binding alone',
  })
  async stepUps(@Param('id', uuid) id: string): Promise<StepUpEvidenceListView> {
    return { data: await this.stepUp.evidence(id) };
  }

  @Get(':id')
  @Roles('viewer')
  @ApiOkResponse({ type: WithdrawalDetailView })
  @ApiOperation({
    summary: 'One request with its approvals, Klear id, attempts, every answer Klear gave to its POSTs, and full state history',
  })
  async get(@Param('id', uuid) id: string): Promise<WithdrawalDetailView> {
    const detail = await this.repository.detail(id);
    if (!detail) throw new NotFound('withdrawal', id);
    return {
      ...withdrawalView(detail.request),
      approvals: detail.approvals.map(approvalView),
      attempts: detail.attempts.map(attemptView),
      history: detail.history.map(historyView),
      klear_answers: detail.klearAnswers.map(klearAnswerView),
    };
  }

  @Post(':id/approve')
  @Roles('approver')
  @HttpCode(200)
  @ApiOkResponse({ type: ApprovalOutcomeView, description: 'the request after the approval, with the progress of its round' })
  @ApiOperation({
    summary: "Approve (never one's own request; a second approval by the same person is a no-op answered 200 with the unchanged request)",
  })
  async approve(
    @Param('id', uuid) id: string,
    @Body() body: ApproveWithdrawalBody,
    @CurrentPrincipal() who: Principal,
    @Req() req: Request,
  ): Promise<ApprovalOutcomeView> {
    const bind = await this.stepUp.hook(who, 'approve', body.step_up, relyingPartyOf(this.config, req));
    const outcome = await this.decisions.approve(id, who, redactStepUp(body), bind, body.comment);
    return {
      ...withdrawalView(outcome.request),
      counted: outcome.changed,
      approvals_so_far: outcome.progress.approvals,
      roles_missing: outcome.progress.rolesMissing,
    };
  }

  @Post(':id/reject')
  @Roles('approver')
  @HttpCode(200)
  @ApiOkResponse({ type: WithdrawalView, description: 'the request, rejected' })
  @ApiOperation({ summary: 'Reject with a reason: ends the request (before execution, also after approving it)' })
  async reject(@Param('id', uuid) id: string, @Body() body: RejectWithdrawalBody, @CurrentPrincipal() who: Principal, @Req() req: Request) {
    const bind = await this.stepUp.hook(who, 'reject', body.step_up, relyingPartyOf(this.config, req));
    return withdrawalView((await this.decisions.reject(id, who, body.reason, redactStepUp(body), bind)).request);
  }

  @Post(':id/revoke-approval')
  @Roles('approver')
  @HttpCode(200)
  @ApiOkResponse({ type: RevocationOutcomeView, description: 'the request after the revocation, with the progress of its round' })
  @ApiOperation({
    summary:
      "Withdraw one's own approval before execution (an approved request whose approvals no longer suffice goes back to pending_approval)",
  })
  async revokeApproval(
    @Param('id', uuid) id: string,
    @Body() body: CancelWithdrawalBody,
    @CurrentPrincipal() who: Principal,
  ): Promise<RevocationOutcomeView> {
    const outcome = await this.decisions.revoke(id, who, body.reason, body);
    return {
      ...withdrawalView(outcome.request),
      approvals_so_far: outcome.progress.approvals,
      roles_missing: outcome.progress.rolesMissing,
    };
  }

  @Get(':id/resolutions')
  @Roles('viewer')
  @ApiOkResponse({ type: ManualResolutionsView })
  @ApiOperation({ summary: 'Manual resolutions of a request whose outcome was unknown: proposed, confirmed or rejected, by whom' })
  async resolutions(@Param('id', uuid) id: string): Promise<ManualResolutionsView> {
    return { data: (await this.manual.list(id)).map(resolutionView), next_cursor: null };
  }

  @Post(':id/resolutions')
  @Roles('approver', 'admin')
  @ApiCreatedResponse({ type: ManualResolutionView, description: 'the proposed resolution (state pending)' })
  @ApiOperation({
    summary:
      "Propose how an outcome_unknown request ended, after reading Klear's records: submitted with Klear id X, or never arrived (then a fresh approval round decides). Another approver or admin confirms; never the requester. An id another request holds is refused (409 KLEAR_ID_HELD)",
  })
  async proposeResolution(@Param('id', uuid) id: string, @Body() body: ProposeResolutionBody, @CurrentPrincipal() who: Principal) {
    if ((body.conclusion === 'submitted') !== (body.klear_withdrawal_id !== undefined)) {
      throw new InvalidInput('klear_withdrawal_id: required with conclusion submitted, refused with not_submitted', [
        { field: 'klear_withdrawal_id', problems: ['required with conclusion submitted, refused with not_submitted'] },
      ]);
    }
    return resolutionView(
      await this.manual.propose(
        id,
        who,
        { conclusion: body.conclusion, klearWithdrawalId: body.klear_withdrawal_id, reason: body.reason },
        body,
      ),
    );
  }

  @Post(':id/resolutions/confirm')
  @Roles('approver', 'admin')
  @HttpCode(200)
  @ApiOkResponse({ type: ResolvedWithdrawalView, description: 'the request after the resolution took effect, with the resolution' })
  @ApiOperation({
    summary: 'Confirm the pending resolution (a second person: never its proposer, never the requester); it takes effect now',
  })
  async confirmResolution(
    @Param('id', uuid) id: string,
    @Body() body: ApproveWithdrawalBody,
    @CurrentPrincipal() who: Principal,
  ): Promise<ResolvedWithdrawalView> {
    const outcome = await this.manual.confirm(id, who, body);
    return { ...withdrawalView(outcome.request), resolution: resolutionView(outcome.resolution) };
  }

  @Post(':id/resolutions/reject')
  @Roles('approver', 'admin')
  @HttpCode(200)
  @ApiOkResponse({ type: ManualResolutionView, description: 'the resolution, rejected' })
  @ApiOperation({ summary: 'Turn the pending resolution down (a reason is required); the request stays outcome_unknown' })
  async rejectResolution(@Param('id', uuid) id: string, @Body() body: RejectWithdrawalBody, @CurrentPrincipal() who: Principal) {
    return resolutionView(await this.manual.reject(id, who, body.reason, body));
  }

  @Post(':id/cancel')
  @Roles('operator', 'admin')
  @HttpCode(200)
  @ApiOkResponse({ type: WithdrawalView, description: 'the request, cancelled' })
  @ApiOperation({ summary: 'Cancel before submission (the requester or an admin)' })
  async cancel(@Param('id', uuid) id: string, @Body() body: CancelWithdrawalBody, @CurrentPrincipal() who: Principal) {
    return withdrawalView(await this.decisions.cancel(id, who, body.reason, body));
  }
}

/** The body as audited: a TOTP code is never kept (the step-up table holds what proves the decision). */
function redactStepUp<T extends { step_up?: { code?: string } }>(body: T): T {
  return body.step_up?.code ? { ...body, step_up: { ...body.step_up, code: '[redacted]' } } : body;
}

@ApiTags('withdrawals')
@ApiBearerAuth()
@ApiErrors()
@Controller('withdrawal-policy')
export class WithdrawalPolicyController {
  constructor(
    private readonly policies: WithdrawalPolicyService,
    private readonly proposals: AdminProposals,
  ) {}

  @Get()
  @Roles('viewer')
  @ApiOkResponse({ type: WithdrawalPolicyView })
  @ApiOperation({ summary: 'The withdrawal policy in force: approval tiers, expiry, reserve floor, cap' })
  async get() {
    return policyView(await this.policies.current());
  }

  @Put()
  @Roles('admin')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: AdminProposalView, description: 'the proposal (kind withdrawal_policy.change, state pending)' })
  @ApiOperation({
    summary:
      'Propose a new policy (validated now, 400 naming each problem): answered 202 with the proposal; it is in force (a new version, audited) when a second admin approves it (POST /admin-proposals/{id}/approve). Pending requests keep the version they were made under',
  })
  async put(@Body() body: WithdrawalPolicyBody, @CurrentPrincipal() who: Principal) {
    return proposalView(await this.proposals.proposePolicy(policyTermsOf(body), who, body));
  }
}
