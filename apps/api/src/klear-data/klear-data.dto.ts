import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { formatUsdExact, moneyFields } from '@app/money';
import { PageQuery } from '@app/http';
import type { ObligationView, SettlementDetailView } from './obligation-responses.dto';
import type { EstimateLineView, MarginReportView, SubtraderGroupView, SubtraderView } from './settlement-responses.dto';
import type { EstimateLineRow, MarginReportRow, ObligationRow, SettlementDetailRow, SubtraderGroupRow, SubtraderRow } from '@app/ingestion';

export class ObligationListQuery extends PageQuery {
  @ApiPropertyOptional({ example: '2026-11-01', description: 'first settlement day (America/New_York), inclusive' })
  @IsOptional()
  @IsISO8601({ strict: true })
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'from must be a date YYYY-MM-DD' })
  from?: string;

  @ApiPropertyOptional({ example: '2026-11-30', description: 'last settlement day (America/New_York), inclusive' })
  @IsOptional()
  @IsISO8601({ strict: true })
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'to must be a date YYYY-MM-DD' })
  to?: string;

  @ApiPropertyOptional({ example: 'Crypto', description: "Klear's asset class (Crypto today)" })
  @IsOptional()
  @Matches(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, { message: 'asset_class must be an asset class name such as Crypto' })
  asset_class?: string;
}

export class BufferHistoryQuery {
  @ApiPropertyOptional({ example: 30, description: 'how many settlement days, ending today (America/New_York); 1-90, default 30' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(90)
  days?: number;
}

export class SubtraderCyclesQuery {
  @ApiPropertyOptional({ example: 30, description: 'how many of the latest cycles; 1-200, default 30' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
}

export class DetailsQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'only this subtrader' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  subtrader?: string;
}

/** `<name>_centicents` as a decimal string with `<name>_usd` beside it (4 decimals: Klear figures carry sub-cent amounts). */
export const money = moneyFields;

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

/**
 * Who pays whom, in words (negative amount = the member pays Klear), when it is due (the cycle's
 * execution time) and whether it was paid: the buffer movement that settled it, or why there is none.
 */
export function obligationDirection(
  o: Pick<ObligationRow, 'amount_centicents' | 'asset_class' | 'execution_time' | 'execution_time_text' | 'settled_by'>,
  now: Date,
) {
  const amount = BigInt(o.amount_centicents);
  const direction = amount < 0n ? 'member_pays' : amount > 0n ? 'member_receives' : 'nothing_due';
  const usd = formatUsdExact(amount < 0n ? -amount : amount);
  const due = o.execution_time_text;
  const cycle = `the ${o.asset_class} cycle of ${due}`;
  const movement = o.settled_by;
  const payment_status = movement
    ? 'paid'
    : direction === 'nothing_due'
      ? 'nothing_due'
      : o.execution_time > now
        ? 'not_yet_due'
        : 'awaiting_payment';
  const what =
    direction === 'member_pays'
      ? `the member pays Klear ${usd} for ${cycle}`
      : direction === 'member_receives'
        ? `Klear pays the member ${usd} for ${cycle}`
        : `nothing is due for ${cycle}`;
  const paid = movement
    ? `paid: buffer movement ${movement.business_transaction_id} of ${formatUsdExact(BigInt(movement.balance_delta_centicents))} at ${iso(new Date(movement.created_ts))}`
    : payment_status === 'not_yet_due'
      ? 'not due yet'
      : payment_status === 'awaiting_payment'
        ? 'not paid yet (no buffer movement settles it)'
        : null;
  return {
    direction,
    in_words: direction === 'nothing_due' ? what : `${what}, due at ${due}; ${paid}`,
    due_at: due,
    payment_status,
    paid: movement !== null,
    buffer_movement: movement
      ? {
          business_transaction_id: movement.business_transaction_id,
          created_ts: new Date(movement.created_ts).toISOString(),
          ...money('balance_delta', movement.balance_delta_centicents),
          reason: movement.reason,
          matched_by: movement.matched_by,
        }
      : null,
  };
}

export function obligationView(o: ObligationRow, now: Date): ObligationView {
  return {
    id: o.id,
    user_id: o.user_id,
    asset_class: o.asset_class,
    ...obligationDirection(o, now),
    execution_time: o.execution_time_text,
    last_updated_ts: o.last_updated_ts,
    ...money('amount', o.amount_centicents),
    ...money('pnl', o.pnl_centicents),
    ...money('fees', o.fees_centicents),
    ...money('maintenance_margin', o.maintenance_margin_centicents),
    ...money('funding', o.funding_centicents),
    funding_payment_count: o.funding_payment_count,
    completed_from_paged_endpoints: o.completed_lists,
    settlement_detail_count: o.settlement_detail_count,
    version_count: o.version_count,
    first_pulled_at: o.first_pulled_at,
    pulled_at: o.pulled_at,
  };
}

export function settlementDetailView(d: SettlementDetailRow): SettlementDetailView {
  return {
    id: d.id,
    market_ticker: d.market_ticker,
    subtrader_id: d.subtrader_id,
    ...money('pnl', d.pnl_centicents),
    ...money('fees', d.fees_centicents),
    ...money('total', d.total_centicents),
  };
}

export function estimateLineView(l: EstimateLineRow): EstimateLineView {
  return {
    ...(l.asset_class ? { asset_class: l.asset_class } : {}),
    scope: l.scope,
    ...(l.scope === 'subtrader' ? { subtrader_id: l.key } : l.scope === 'group' ? { group: l.key } : {}),
    ...money('variation_margin', l.variation_margin_centicents),
    ...money('total_fees', l.total_fees_centicents),
    ...money('maintenance_margin_delta', l.maintenance_margin_delta_centicents),
    ...money('maintenance_margin_required', l.maintenance_margin_required_centicents),
    ...money('total_amount', l.total_amount_centicents),
    ...(l.omitted_subtrader_count !== null
      ? { omitted_subtrader_count: l.omitted_subtrader_count, omitted_group_count: l.omitted_group_count }
      : {}),
    ...(l.next_runtime ? { next_runtime: iso(l.next_runtime) } : {}),
  };
}

export function reportView(r: MarginReportRow): MarginReportView {
  return {
    id: r.id,
    report_type: r.report_type,
    date: r.report_date,
    created_ts: iso(r.created_ts),
    is_end_of_day: r.is_end_of_day,
    pulled_at: iso(r.pulled_at),
    file: r.file_sha256 ? { size_bytes: Number(r.file_size), sha256: r.file_sha256, downloaded_at: iso(r.downloaded_at) } : null,
  };
}

export function subtraderGroupView(g: SubtraderGroupRow): SubtraderGroupView {
  return {
    group_id: g.group_id,
    member_subtrader_ids: g.members,
    membership_history: g.history.map((h) => ({
      subtrader_id: h.subtrader_id,
      valid_from: iso(new Date(h.valid_from)),
      valid_to: h.valid_to === null ? null : iso(new Date(h.valid_to)),
    })),
    latest_margin: g.execution_time
      ? { execution_time: iso(g.execution_time), ...money('maintenance_margin', g.maintenance_margin_centicents) }
      : null,
  };
}

export function subtraderView(r: SubtraderRow): SubtraderView {
  return {
    subtrader_id: r.subtrader_id,
    seen_in_klear_at: r.first_seen_in_klear_at,
    seen_in_ledger_at: r.first_seen_in_ledger_at,
    latest_obligation: r.obligation_id
      ? {
          obligation_id: r.obligation_id,
          obligation_ids: r.obligation_ids ?? [],
          asset_classes: r.asset_classes ?? [],
          execution_time: r.execution_time as string,
          pulled_at: r.obligation_pulled_at as string,
          ...money('pnl', r.pnl_centicents ?? '0'),
          ...money('fees', r.fees_centicents ?? '0'),
          ...money('total', r.total_centicents ?? '0'),
          ...money('maintenance_margin', r.maintenance_margin_centicents),
          ...money('maintenance_margin_delta', r.maintenance_margin_delta_centicents),
          ...money('funding', r.funding_centicents ?? '0'),
          funding_payment_count: Number(r.funding_payment_count ?? 0),
        }
      : null,
    margin_group: r.margin_group_id ? { group_id: r.margin_group_id, member_since: r.margin_group_since as string } : null,
    latest_estimate: r.estimate_pulled_at
      ? { pulled_at: r.estimate_pulled_at, ...money('total_amount', r.estimate_total_amount_centicents) }
      : null,
  };
}
