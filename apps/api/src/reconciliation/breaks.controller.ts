import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal, Roles } from '@app/auth';
import { decodeCursor, toPage } from '@app/http';
import { BreakWorkflowService, ReconciliationRepository } from '@app/reconciliation';
import { ApiErrors, ApiPageResponse } from '../openapi';
import { BreakDetailView, BreakView } from './reconciliation-responses.dto';
import { idParam } from './reconciliations.controller';
import {
  AssignBody,
  BreakNoteBody,
  breakDetailView,
  BreaksQuery,
  breakView,
  CommentBody,
  CosignBody,
  ResolveBreakBody,
} from './reconciliation.dto';

@ApiTags('reconciliation')
@ApiBearerAuth()
@ApiErrors()
@Controller('breaks')
export class BreaksController {
  constructor(
    private readonly repository: ReconciliationRepository,
    private readonly workflow: BreakWorkflowService,
  ) {}

  @Get()
  @Roles('viewer')
  @ApiPageResponse(BreakView)
  @ApiOperation({
    summary: 'Breaks across runs (?status=open|unresolved|...&check=&subtrader=&assignee=&sort=age|difference)',
    description:
      'Default order `age`: oldest first (numeric id). `sort=difference`: largest absolute difference first. `status=unresolved`: open, acknowledged and pending_write_off.',
  })
  async list(@Query() q: BreaksQuery) {
    const limit = q.limit ?? 50;
    const order = q.sort ?? 'age';
    const cursor = order === 'difference' ? decodeCursor(q.cursor, ['int', 'int']) : decodeCursor(q.cursor, ['int']);
    const after = cursor ? (order === 'difference' ? { absDifference: cursor[0], id: cursor[1] } : { id: cursor[0] }) : undefined;
    const rows = await this.repository.listBreaks({
      status: q.status,
      check: q.check,
      subtrader: q.subtrader,
      assignee: q.assignee,
      assetClass: q.asset_class,
      order,
      after,
      limit: limit + 1,
    });
    const sources = await this.repository.sourcesOf(rows.slice(0, limit));
    return toPage(
      rows,
      limit,
      (r) => (order === 'difference' ? [r.abs_difference_centicents, r.id] : [r.id]),
      (r) => breakView(r, sources.get(r.id)),
    );
  }

  @Get(':id')
  @Roles('viewer')
  @ApiOkResponse({ type: BreakDetailView })
  @ApiOperation({ summary: 'One break with what each run observed and its comments' })
  async get(@Param('id') id: string) {
    return breakDetailView(await this.repository.getBreak(idParam(id, 'break')));
  }

  @Post(':id/acknowledge')
  @HttpCode(200)
  @Roles('operator')
  @ApiOkResponse({ type: BreakDetailView, description: 'the break in full, after the change' })
  @ApiOperation({ summary: 'open -> acknowledged; the note is kept and shown on the break (`acknowledgement`)' })
  async acknowledge(@Param('id') id: string, @Body() body: BreakNoteBody, @CurrentPrincipal() who: Principal) {
    await this.workflow.acknowledge(idParam(id, 'break'), { userId: who.userId, name: who.name }, body.note);
    return this.get(id);
  }

  @Post(':id/assign')
  @HttpCode(200)
  @Roles('operator')
  @ApiOkResponse({ type: BreakDetailView, description: 'the break in full, after the change' })
  @ApiOperation({ summary: 'Assign the break to someone' })
  async assign(@Param('id') id: string, @Body() body: AssignBody, @CurrentPrincipal() who: Principal) {
    await this.workflow.assign(idParam(id, 'break'), body.assignee, { userId: who.userId, name: who.name });
    return this.get(id);
  }

  @Post(':id/comments')
  @HttpCode(201)
  @Roles('operator')
  @ApiCreatedResponse({ type: BreakDetailView, description: 'the break in full, with the new comment' })
  @ApiOperation({ summary: 'Add a comment' })
  async comment(@Param('id') id: string, @Body() body: CommentBody, @CurrentPrincipal() who: Principal) {
    await this.workflow.comment(idParam(id, 'break'), body.body, { userId: who.userId, name: who.name });
    return this.get(id);
  }

  @Post(':id/resolve')
  @HttpCode(200)
  @Roles('operator')
  @ApiOkResponse({ type: BreakDetailView, description: 'the break in full, after the change' })
  @ApiOperation({
    summary:
      'Resolve with a reason: timing; adjustment_booked (reference = ledger external_id); klear_error (reference = ticket); write_off (names difference_centicents, then needs an approver co-sign)',
  })
  async resolve(@Param('id') id: string, @Body() body: ResolveBreakBody, @CurrentPrincipal() who: Principal) {
    const difference = body.difference_centicents === undefined ? undefined : BigInt(body.difference_centicents);
    await this.workflow.resolve(
      idParam(id, 'break'),
      { reason: body.reason, reference: body.reference, note: body.note, differenceCenticents: difference },
      { userId: who.userId, name: who.name },
    );
    return this.get(id);
  }

  @Post(':id/cosign')
  @HttpCode(200)
  @Roles('approver')
  @ApiOkResponse({ type: BreakDetailView, description: 'the break in full, after the co-sign' })
  @ApiOperation({
    summary:
      'Co-sign a proposed write-off, naming the difference it approves (an approver other than the proposer): pending_write_off -> resolved',
  })
  async cosign(@Param('id') id: string, @Body() body: CosignBody, @CurrentPrincipal() who: Principal) {
    await this.workflow.cosign(idParam(id, 'break'), { userId: who.userId, name: who.name }, BigInt(body.difference_centicents), body.note);
    return this.get(id);
  }
}
