import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '@app/auth';
import { Clock } from '@app/clock';
import { NotFound } from '@app/errors';
import { decodeCursor, toPage } from '@app/http';
import { type ObligationRow, ObligationRepository, SettlementRepository } from '@app/ingestion';
import { ApiErrors, ApiPageResponse } from '../openapi';
import { ActiveObligationsView, ObligationDetailView, ObligationView, SettlementDetailView } from './obligation-responses.dto';
import { DetailsQuery, money, obligationDirection, ObligationListQuery, obligationView, settlementDetailView } from './klear-data.dto';

/** Details inlined in GET /obligations/{id}; the rest page through GET /obligations/{id}/details. */
const INLINE_DETAILS = 500;

@ApiTags('obligations')
@ApiBearerAuth()
@ApiErrors()
@Controller('obligations')
export class ObligationsController {
  constructor(
    private readonly obligations: ObligationRepository,
    private readonly settlement: SettlementRepository,
    private readonly clock: Clock,
  ) {}

  @Get('active')
  @Roles('viewer')
  @ApiOkResponse({ type: ActiveObligationsView })
  @ApiOperation({
    summary:
      "The current cycle's obligations as last pulled from Klear, one per asset class, with the pull time; `state` (due, between_cycles, never_pulled) and `summary` say it in words, with the last settled cycle and the next cycle's time (from the estimate's next_runtime)",
  })
  async active(): Promise<ActiveObligationsView> {
    const now = this.clock.now();
    const view = (o: ObligationRow) => obligationView(o, now);
    const active = await this.obligations.active();
    const obligations = (active?.obligations ?? []).map(view);
    const activeIds = new Set(obligations.map((o) => o.id));
    // The newest cycle that is no longer active, and the next one Klear's estimate names.
    const lastSettled = (await this.obligations.list({ limit: activeIds.size + 1 })).find((o) => !activeIds.has(o.id));
    const estimate = await this.settlement.latestEstimate('settlement_estimate_by_asset_class');
    const next = (estimate?.lines ?? [])
      .filter((l) => l.asset_class !== '' && l.scope === 'user' && l.next_runtime)
      .map((l) => l.next_runtime!.toISOString())
      .sort()[0];
    const state = !active ? 'never_pulled' : obligations.length > 0 ? 'due' : 'between_cycles';
    const words =
      state === 'never_pulled'
        ? 'the active obligation has not been pulled from Klear yet'
        : state === 'due'
          ? obligations.map((o) => o.in_words).join('; ')
          : `no obligation is due: between cycles${lastSettled ? `; the last settled cycle: ${obligationDirection(lastSettled, now).in_words}` : ''}${next ? `; the next cycle runs at ${next}` : ''}`;
    return {
      state,
      summary: words,
      pulled_at: active?.pulledAt.toISOString() ?? null,
      obligations,
      // `obligation`: the first one, for clients written before asset classes (null when none).
      obligation: obligations[0] ?? null,
      last_settled: lastSettled ? view(lastSettled) : null,
      next_cycle: next ?? null,
    };
  }

  @Get()
  @Roles('viewer')
  @ApiPageResponse(ObligationView)
  @ApiOperation({ summary: 'Obligation history, newest cycle first (`from`/`to`: settlement days, America/New_York)' })
  async list(@Query() q: ObligationListQuery) {
    const limit = q.limit ?? 50;
    const after = decodeCursor(q.cursor, ['timestamp', 'text']);
    const rows = await this.obligations.list({
      from: q.from,
      to: q.to,
      assetClass: q.asset_class,
      limit: limit + 1,
      after: after ? { executionTime: after[0], id: after[1] } : undefined,
    });
    const now = this.clock.now();
    return toPage(
      rows,
      limit,
      (o) => [o.execution_time.toISOString(), o.id],
      (o) => obligationView(o, now),
    );
  }

  @Get(':id')
  @Roles('viewer')
  @ApiOkResponse({ type: ObligationDetailView })
  @ApiOperation({ summary: 'One obligation: receives, maintenance margin details, versions, and the first page of settlement details' })
  async get(@Param('id') id: string): Promise<ObligationDetailView> {
    const obligation = await this.obligations.get(id);
    if (!obligation) throw new NotFound('obligation', id);
    const [receives, margins, versions, details] = await Promise.all([
      this.obligations.receives(id),
      this.obligations.marginDetails(id),
      this.obligations.versions(id),
      this.obligations.details(id, { limit: INLINE_DETAILS + 1 }),
    ]);
    const page = toPage(details, INLINE_DETAILS, (d) => [d.subtrader_id, d.id], settlementDetailView);
    return {
      ...obligationView(obligation, this.clock.now()),
      receives: receives.map((r) => ({
        id: r.id,
        type: r.type,
        ...money('amount', r.amount_centicents),
        external_reference: r.external_reference,
        created_ts: r.created_ts.toISOString(),
      })),
      maintenance_margin_details: margins.map((m) => ({
        id: m.id,
        subtrader_id: m.subtrader_id,
        ...money('maintenance_margin', m.maintenance_margin_centicents),
        ...money('maintenance_margin_delta', m.maintenance_margin_delta_centicents),
      })),
      versions: versions.map((v) => ({
        last_updated_ts: v.last_updated_ts.toISOString(),
        content_sha256: v.content_sha256,
        ...money('amount', v.amount_centicents),
        ...money('fees', v.fees_centicents),
        first_pulled_at: v.first_pulled_at.toISOString(),
      })),
      settlement_details: page.data,
      settlement_details_next_cursor: page.next_cursor,
    };
  }

  @Get(':id/details')
  @Roles('viewer')
  @ApiPageResponse(SettlementDetailView)
  @ApiOperation({ summary: "The obligation's settlement details, a page at a time, ordered by subtrader then id (`?subtrader=`)" })
  async details(@Param('id') id: string, @Query() q: DetailsQuery) {
    if (!(await this.obligations.get(id))) throw new NotFound('obligation', id);
    const limit = q.limit ?? 50;
    const after = decodeCursor(q.cursor, ['text', 'text']);
    const rows = await this.obligations.details(id, {
      subtrader: q.subtrader,
      limit: limit + 1,
      after: after ? { subtraderId: after[0], id: after[1] } : undefined,
    });
    return toPage(rows, limit, (d) => [d.subtrader_id, d.id], settlementDetailView);
  }
}
