import { Controller, Get, Inject, Param, Query, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { createReadStream } from 'node:fs';
import { Roles } from '@app/auth';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { DomainError, NotFound } from '@app/errors';
import { decodeCursor, PageQuery, toPage } from '@app/http';
import { Clock } from '@app/clock';
import { etDate, etDateDaysBefore, MarginReportFiles, SettlementRepository, SubtraderRepository } from '@app/ingestion';
import { ApiErrors, ApiPageResponse } from '../openapi';
import { BufferByDayView, SubtraderCyclesView } from './chart-series-responses.dto';
import {
  BufferMovementView,
  MarginReportView,
  SettlementBalanceView,
  SettlementEstimateView,
  SubtraderGroupView,
  SubtraderView,
} from './settlement-responses.dto';
import {
  BufferHistoryQuery,
  estimateLineView,
  money,
  reportView,
  SubtraderCyclesQuery,
  subtraderGroupView,
  subtraderView,
} from './klear-data.dto';

@ApiTags('settlement')
@ApiBearerAuth()
@ApiErrors()
@Controller()
export class SettlementController {
  private readonly files: MarginReportFiles;

  constructor(
    private readonly settlement: SettlementRepository,
    private readonly subtraderRecords: SubtraderRepository,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.files = new MarginReportFiles(config.reports.dir);
  }

  @Get('settlement/estimate')
  @Roles('viewer')
  @ApiOkResponse({ type: SettlementEstimateView })
  @ApiOperation({
    summary:
      "Latest settlement estimate snapshot: the cycle it is for (`next_runtime`, the earliest asset class's; `for_cycles` per asset class), all asset classes added up (user and each listed subtrader), and each asset class's lines with its next runtime",
  })
  async estimate(): Promise<SettlementEstimateView> {
    const latest = await this.settlement.latestEstimate('settlement_estimate_by_asset_class');
    const all = latest?.lines.filter((l) => l.asset_class === '') ?? [];
    const user = all.find((l) => l.scope === 'user');
    // Which cycle the estimate is for: each asset class's next runtime (Klear's next_runtime), the earliest first.
    const cycles = (latest?.lines ?? [])
      .filter((l) => l.asset_class !== '' && l.scope === 'user' && l.next_runtime)
      .map((l) => ({ asset_class: l.asset_class, next_runtime: l.next_runtime!.toISOString() }))
      .sort((a, b) =>
        a.next_runtime < b.next_runtime ? -1 : a.next_runtime > b.next_runtime ? 1 : a.asset_class < b.asset_class ? -1 : 1,
      );
    return {
      pulled_at: latest?.pulled_at.toISOString() ?? null,
      next_runtime: cycles[0]?.next_runtime ?? null,
      for_cycles: cycles,
      ...money('settlement_balance', latest?.settlement_balance_centicents),
      user_breakdown: user ? estimateLineView(user) : null,
      subtrader_breakdowns: all.filter((l) => l.scope === 'subtrader').map(estimateLineView),
      by_asset_class: latest
        ? { pulled_at: latest.pulled_at.toISOString(), lines: latest.lines.filter((l) => l.asset_class !== '').map(estimateLineView) }
        : null,
    };
  }

  @Get('settlement/balance')
  @Roles('viewer')
  @ApiOkResponse({ type: SettlementBalanceView })
  @ApiOperation({ summary: 'Latest settlement buffer balance (available, locked) with its pull time' })
  async balance(): Promise<SettlementBalanceView> {
    const b = await this.settlement.latestBalance();
    return {
      pulled_at: b?.pulled_at.toISOString() ?? null,
      ...money('available', b?.available_centicents),
      ...money('locked', b?.locked_centicents),
    };
  }

  @Get('settlement/buffer-by-day')
  @Roles('viewer')
  @ApiOkResponse({ type: BufferByDayView })
  @ApiOperation({
    summary:
      "Per settlement day (America/New_York), the last `days` days ending today: the buffer (available, locked, total) at the day's last balance pull, and the day's obligations (what the member pays, what it receives)",
  })
  async bufferByDay(@Query() q: BufferHistoryQuery) {
    const to = etDate(this.clock.now());
    const from = etDateDaysBefore(to, (q.days ?? 30) - 1);
    const days = await this.settlement.bufferByDay(from, to);
    return {
      from,
      to,
      days: days.map((d) => ({
        date: d.date,
        ...money('available', d.available_centicents),
        ...money('locked', d.locked_centicents),
        ...money(
          'balance',
          d.available_centicents === null ? null : (BigInt(d.available_centicents) + BigInt(d.locked_centicents ?? '0')).toString(),
        ),
        ...money('payable', d.payable_centicents ?? '0'),
        ...money('receivable', d.receivable_centicents ?? '0'),
        cycles: d.cycles,
      })),
    };
  }

  @Get('settlement/balance/history')
  @Roles('viewer')
  @ApiPageResponse(BufferMovementView)
  @ApiOperation({ summary: 'Settlement buffer movements as pulled from Klear, most recent first' })
  async history(@Query() q: PageQuery) {
    const limit = q.limit ?? 50;
    const after = decodeCursor(q.cursor, ['timestamp', 'int']);
    const rows = await this.settlement.balanceHistory(limit + 1, after ? { createdTs: after[0], id: after[1] } : undefined);
    return toPage(
      rows,
      limit,
      (r) => [r.created_ts.toISOString(), r.id],
      (r): BufferMovementView => ({
        business_transaction_id: r.business_transaction_id,
        created_ts: r.created_ts.toISOString(),
        reason: r.reason,
        ...money('balance_delta', r.balance_delta_centicents),
        ...money('locked_balance_delta', r.locked_balance_delta_centicents),
        pulled_at: r.first_pulled_at.toISOString(),
      }),
    );
  }

  @Get('reports')
  @Roles('viewer')
  @ApiPageResponse(MarginReportView)
  @ApiOperation({ summary: 'Margin reports pulled from Klear, newest day first, with their stored file (size, SHA-256)' })
  async reports(@Query() q: PageQuery) {
    const limit = q.limit ?? 50;
    const after = decodeCursor(q.cursor, ['date', 'int']);
    const rows = await this.settlement.reports(limit + 1, after ? { reportDate: after[0], id: after[1] } : undefined);
    return toPage(rows, limit, (r) => [r.report_date, r.id], reportView);
  }

  @Get('reports/:id/file')
  @Roles('viewer')
  @ApiOkResponse({
    description: 'the file as Klear served it (CSV or other bytes)',
    content: {
      'text/csv': { schema: { type: 'string', format: 'binary' } },
      'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
    },
  })
  @ApiOperation({ summary: 'The stored report file, byte for byte as Klear served it (checked against its SHA-256 header)' })
  async file(@Param('id') id: string) {
    const report = await this.settlement.report(id);
    if (!report) throw new NotFound('report', id);
    if (!report.file_path || !(await this.files.intact(report.file_path, report.file_size, report.file_sha256))) {
      throw new DomainError(
        'REPORT_FILE_UNAVAILABLE',
        'unavailable',
        `the file of report ${id} is not stored yet or failed its checksum; the margin_reports job fetches it again`,
      );
    }
    return new StreamableFile(createReadStream(this.files.absolute(report.file_path)), {
      type: report.file_path.endsWith('.csv') ? 'text/csv' : 'application/octet-stream',
      disposition: `attachment; filename="${report.report_date}-${report.report_type}${report.file_path.slice(report.file_path.lastIndexOf('.'))}"`,
      length: Number(report.file_size),
    });
  }

  @Get('subtraders')
  @Roles('viewer')
  @ApiPageResponse(SubtraderView)
  @ApiOperation({ summary: 'Subtraders known from Klear and from the ledger, with the latest Klear figures and their pull times' })
  async subtraders(@Query() q: PageQuery) {
    const limit = q.limit ?? 50;
    const after = decodeCursor(q.cursor, ['text'])?.[0];
    const rows = await this.subtraderRecords.page({ limit: limit + 1, after });
    return toPage(rows, limit, (r) => [r.subtrader_id], subtraderView);
  }

  @Get('subtrader-groups')
  @Roles('viewer')
  @ApiPageResponse(SubtraderGroupView)
  @ApiOperation({
    summary:
      "Netted subtrader groups from Klear, by group id: current members, membership history (each join and leave at the pull that saw it), the group's latest requirement",
  })
  async subtraderGroups(@Query() q: PageQuery) {
    const limit = q.limit ?? 50;
    const after = decodeCursor(q.cursor, ['text'])?.[0];
    const rows = await this.subtraderRecords.groups({ limit: limit + 1, after });
    return toPage(rows, limit, (r) => [r.group_id], subtraderGroupView);
  }

  @Get('subtraders/:id/cycles')
  @Roles('viewer')
  @ApiOkResponse({ type: SubtraderCyclesView })
  @ApiOperation({
    summary:
      "One subtrader's Klear PnL, fees and maintenance margin in each of the latest cycles (every asset class added up), oldest first; null where it had none",
  })
  async subtraderCycles(@Param('id') id: string, @Query() q: SubtraderCyclesQuery) {
    const [known] = await this.subtraderRecords.page({ id, limit: 1 });
    if (!known) throw new NotFound('subtrader', id);
    const rows = await this.subtraderRecords.cycles(id, q.limit ?? 30);
    return {
      subtrader_id: id,
      cycles: rows.map((r) => ({
        cycle: r.execution_time.toISOString(),
        asset_classes: r.asset_classes,
        ...money('pnl', r.pnl_centicents),
        ...money('fees', r.fees_centicents),
        ...money('maintenance_margin', r.maintenance_margin_centicents),
      })),
    };
  }

  @Get('subtraders/:id')
  @Roles('viewer')
  @ApiOkResponse({ type: SubtraderView })
  @ApiOperation({
    summary: 'One subtrader with its latest Klear figures: the latest cycle over every asset class, its funding payments, its netted group',
  })
  async subtrader(@Param('id') id: string) {
    const [row] = await this.subtraderRecords.page({ id, limit: 1 });
    if (!row) throw new NotFound('subtrader', id);
    return subtraderView(row);
  }
}
