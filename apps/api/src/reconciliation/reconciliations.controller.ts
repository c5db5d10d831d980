import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal, Roles } from '@app/auth';
import { InvalidInput, NotFound } from '@app/errors';
import { decodeCursor, Expensive, toPage } from '@app/http';
import { ReconciliationRepository, ReconciliationService, type RunTarget } from '@app/reconciliation';
import { ApiErrors, ApiPageResponse } from '../openapi';
import { ObservationView, RunComparisonView, RunListView, RunView } from './reconciliation-responses.dto';
import {
  comparisonView,
  observationView,
  RunBreaksQuery,
  runListView,
  RunsQuery,
  runView,
  StartReconciliationBody,
} from './reconciliation.dto';

/** Path ids are bigint identities: anything else is simply not found. */
export function idParam(id: string, what: string): string {
  if (!/^\d{1,18}$/.test(id)) throw new NotFound(what, id);
  return id;
}

function numericCursor(cursor: string | undefined): string | undefined {
  return decodeCursor(cursor, ['int'])?.[0];
}

@ApiTags('reconciliation')
@ApiBearerAuth()
@ApiErrors()
@Controller('reconciliations')
export class ReconciliationsController {
  constructor(
    private readonly reconciliation: ReconciliationService,
    private readonly repository: ReconciliationRepository,
  ) {}

  @Post()
  @HttpCode(201)
  @Roles('operator')
  @Expensive()
  @ApiCreatedResponse({ type: RunView })
  @ApiOperation({
    summary:
      'Run a reconciliation of one asset class: { cycle } or { date } (with asset_class when the cycle has several) or { projected: true } (with asset_class when the latest estimate projects several); answers with the stored run',
  })
  async start(@Body() body: StartReconciliationBody, @CurrentPrincipal() who: Principal) {
    const chosen = [body.cycle !== undefined, body.date !== undefined, body.projected === true].filter(Boolean).length;
    if (chosen !== 1)
      throw new InvalidInput('give exactly one of cycle, date or projected: true', [
        { field: 'cycle', problems: ['exactly one of cycle, date, projected'] },
      ]);
    const assetClass = body.asset_class;
    const target: RunTarget = body.cycle
      ? { cycle: new Date(body.cycle), assetClass }
      : body.date
        ? { date: body.date, assetClass }
        : { projected: true, assetClass };
    return runView(await this.reconciliation.run(target, who.name));
  }

  @Get()
  @Roles('viewer')
  @ApiPageResponse(RunListView)
  @ApiOperation({
    summary: 'Runs, newest first, with summary counts and totals',
    description: 'Each run without its inputs (GET /reconciliations/{id} has them), unless ?include=inputs.',
  })
  async list(@Query() q: RunsQuery) {
    const limit = q.limit ?? 50;
    const rows = await this.repository.listRuns({
      scope: q.scope,
      status: q.status,
      beforeId: numericCursor(q.cursor),
      limit: limit + 1,
      withInputs: q.include === 'inputs',
    });
    return toPage(rows, limit, (r) => [r.id], runListView);
  }

  @Get(':id')
  @Roles('viewer')
  @ApiOkResponse({ type: RunView })
  @ApiOperation({ summary: 'One run with its inputs (snapshots, high-water marks, tolerances) and summary' })
  async get(@Param('id') id: string) {
    return runView(await this.repository.getRun(idParam(id, 'reconciliation run')));
  }

  @Get(':id/breaks')
  @Roles('viewer')
  @ApiPageResponse(ObservationView)
  @ApiOperation({ summary: "The run's breaks in its deterministic order (by key), with the rows behind each side" })
  async breaks(@Param('id') id: string, @Query() q: RunBreaksQuery) {
    const limit = q.limit ?? 50;
    const after = numericCursor(q.cursor);
    const rows = await this.repository.runBreaks(idParam(id, 'reconciliation run'), {
      subtrader: q.subtrader,
      check: q.check,
      status: q.status,
      afterOrdinal: after === undefined ? undefined : Number(after),
      limit: limit + 1,
    });
    return toPage(rows, limit, (r) => [r.ordinal], observationView);
  }

  @Get(':id/compare/:otherId')
  @Roles('viewer')
  @ApiOkResponse({ type: RunComparisonView })
  @ApiOperation({ summary: 'Compare two runs: breaks only in one of them, and breaks whose reason or figures changed' })
  async compare(@Param('id') id: string, @Param('otherId') otherId: string) {
    return comparisonView(await this.repository.compare(idParam(id, 'reconciliation run'), idParam(otherId, 'reconciliation run')));
  }
}
