import { Body, Controller, Get, Headers, HttpCode, Param, ParseUUIDPipe, Post, Put, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentPrincipal, type Principal, Roles } from '@app/auth';
import { decodeCursor, NotFound, toPage } from '@app/http';
import { WithdrawalDecisionService, WithdrawalPolicyService, WithdrawalRepository, WithdrawalRequestService } from '@app/withdrawals';
import { ApiErrors } from '../openapi';
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
  RejectWithdrawalBody,
  WithdrawalListQuery,
  WithdrawalPolicyBody,
  withdrawalView,
} from './withdrawals.dto';

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
  ) {}

  @Post()
  @Roles('operator')
  @ApiHeader({ name: 'Idempotency-Key', required: true, description: 'the same key and body give the same request (200 on a replay); another body is a 409' })
  @ApiOperation({ summary: 'Request a withdrawal from the settlement buffer (201; 422 with every figure when headroom is short)' })
  async create(@Body() body: CreateWithdrawalBody, @Headers('idempotency-key') key: string | undefined, @CurrentPrincipal() who: Principal, @Res({ passthrough: true }) res: Response) {
    const outcome = await this.requests.request(who, key, { amount: body.amount, purpose: body.purpose });
    res.status(outcome.replayed ? 200 : 201);
    if (outcome.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return withdrawalView(outcome.request);
  }

  @Get()
  @Roles('viewer')
  @ApiOperation({ summary: 'Withdrawal requests, newest first (?state=, ?needs_attention=true for those a person must look at)' })
  async list(@Query() q: WithdrawalListQuery) {
    const limit = q.limit ?? 50;
    const after = decodeCursor(q.cursor, ['timestamp', 'uuid']);
    const rows = await this.repository.list({ state: q.state, needsAttention: q.needs_attention, limit: limit + 1, after: after ? { createdAt: after[0], id: after[1] } : undefined });
    return toPage(rows, limit, (r) => [r.createdAt.toISOString(), r.id], withdrawalView);
  }

  @Get('queue')
  @Roles('approver')
  @ApiOperation({ summary: 'Requests waiting for the caller\'s decision, oldest first, with the current headroom' })
  async queue(@CurrentPrincipal() who: Principal) {
    const { items, headroom, headroomError } = await this.decisions.queue(who);
    const now = Date.now();
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

  @Get(':id')
  @Roles('viewer')
  @ApiOperation({ summary: 'One request with its approvals, Klear id, attempts, every answer Klear gave to its POSTs, and full state history' })
  async get(@Param('id', uuid) id: string) {
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
  @ApiOperation({ summary: 'Approve (never one\'s own request; a second approval by the same person is a no-op answered 200 with the unchanged request)' })
  async approve(@Param('id', uuid) id: string, @Body() body: ApproveWithdrawalBody, @CurrentPrincipal() who: Principal) {
    const outcome = await this.decisions.approve(id, who, body);
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
  @ApiOperation({ summary: 'Reject with a reason: ends the request' })
  async reject(@Param('id', uuid) id: string, @Body() body: RejectWithdrawalBody, @CurrentPrincipal() who: Principal) {
    return withdrawalView((await this.decisions.reject(id, who, body.reason, body)).request);
  }

  @Post(':id/cancel')
  @Roles('operator', 'admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel before submission (the requester or an admin)' })
  async cancel(@Param('id', uuid) id: string, @Body() body: CancelWithdrawalBody, @CurrentPrincipal() who: Principal) {
    return withdrawalView(await this.decisions.cancel(id, who, body.reason, body));
  }
}

@ApiTags('withdrawals')
@ApiBearerAuth()
@ApiErrors()
@Controller('withdrawal-policy')
export class WithdrawalPolicyController {
  constructor(private readonly policies: WithdrawalPolicyService) {}

  @Get()
  @Roles('viewer')
  @ApiOperation({ summary: 'The withdrawal policy in force: approval tiers, expiry, reserve floor, cap' })
  async get() {
    return policyView(await this.policies.current());
  }

  @Put()
  @Roles('admin')
  @ApiOperation({ summary: 'Replace the policy (a new version, audited); pending requests keep the version they were made under' })
  async put(@Body() body: WithdrawalPolicyBody, @CurrentPrincipal() who: Principal) {
    return policyView(await this.policies.replace(policyTermsOf(body), who.name, body));
  }
}
