import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { Roles } from '@app/auth';
import { NotFound } from '@app/errors';
import { decodeCursor, PageQuery, toPage } from '@app/http';
import { PositionRepository } from '@app/ingestion';
import { ApiErrors, ApiPageResponse } from '../openapi';
import { GuarantyFundPullView, LargeTraderReportView } from './positions-responses.dto';
import { money } from './klear-data.dto';

export class LargeTraderQuery {
  @ApiPropertyOptional({ example: '2026-11-03', description: 'settlement day (YYYY-MM-DD); the newest one when omitted' })
  @IsOptional()
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'report_date must be YYYY-MM-DD' })
  report_date?: string;
}

/** The guaranty fund and large-trader positions the ingestion jobs pull from Klear. */
@ApiTags('settlement')
@ApiBearerAuth()
@ApiErrors()
@Controller()
export class PositionsController {
  constructor(private readonly positions: PositionRepository) {}

  @Get('guaranty-fund')
  @Roles('viewer')
  @ApiPageResponse(GuarantyFundPullView)
  @ApiOperation({
    summary: 'Guaranty fund balance as pulled from Klear (job guaranty_fund), newest pull first: amount, Klear update time, pull time',
  })
  async guarantyFund(@Query() q: PageQuery) {
    const limit = q.limit ?? 50;
    const before = decodeCursor(q.cursor, ['int'])?.[0];
    const rows = await this.positions.guarantyFund(limit + 1, before);
    return toPage(
      rows,
      limit,
      (r) => [r.id],
      (r): GuarantyFundPullView => ({
        ...money('amount', r.amount_centicents),
        updated_ts: r.updated_ts.toISOString(),
        pulled_at: r.pulled_at.toISOString(),
        user_id: r.user_id,
      }),
    );
  }

  @Get('large-trader-positions')
  @Roles('viewer')
  @ApiOkResponse({ type: LargeTraderReportView })
  @ApiOperation({
    summary:
      "A settlement day's large-trader (CFTC reportable) positions as last pulled from Klear (job large_trader_positions): signed contract counts, largest absolute position first; the days that have a report",
  })
  async largeTrader(@Query() q: LargeTraderQuery): Promise<LargeTraderReportView> {
    const report = await this.positions.largeTraderReport(q.report_date);
    if (!report && q.report_date) throw new NotFound('large-trader report of', q.report_date);
    return {
      report_date: report?.report_date ?? null,
      pulled_at: report?.pulled_at.toISOString() ?? null,
      user_id: report?.user_id ?? null,
      positions: report?.positions ?? [],
      report_dates: await this.positions.largeTraderDates(),
    };
  }
}
