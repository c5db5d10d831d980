import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/*
 * The answers of the settlement routes (estimate, balance, buffer movements), as documented in
 * /docs-json; test/foundation/openapi-responses.test.ts holds the answers to them.
 */

const cc = (example: string) => ({ type: String, nullable: true, example, description: 'centicents, decimal string' });
const usd = (example: string) => ({ type: String, nullable: true, example });
const at = { type: String, nullable: true, format: 'date-time' };

export class EstimateLineView {
  @ApiPropertyOptional({ example: 'Crypto', description: 'absent on the lines of all asset classes added up' }) asset_class?: string;
  @ApiProperty({ enum: ['user', 'subtrader', 'group'] }) scope: string;
  @ApiPropertyOptional({ example: 'ST-00001' }) subtrader_id?: string;
  @ApiPropertyOptional({ example: 'GRP-0001' }) group?: string;
  @ApiProperty(cc('-120000')) variation_margin_centicents: string | null;
  @ApiProperty(usd('-$12.0000')) variation_margin_usd: string | null;
  @ApiProperty(cc('300')) total_fees_centicents: string | null;
  @ApiProperty(usd('$0.0300')) total_fees_usd: string | null;
  @ApiProperty(cc('5000')) maintenance_margin_delta_centicents: string | null;
  @ApiProperty(usd('$0.5000')) maintenance_margin_delta_usd: string | null;
  @ApiProperty(cc('350000')) maintenance_margin_required_centicents: string | null;
  @ApiProperty(usd('$35.0000')) maintenance_margin_required_usd: string | null;
  @ApiProperty(cc('-125300')) total_amount_centicents: string | null;
  @ApiProperty(usd('-$12.5300')) total_amount_usd: string | null;
  @ApiPropertyOptional({ example: 0, description: 'user lines: subtraders Klear left out of the breakdowns' })
  omitted_subtrader_count?: number;
  @ApiPropertyOptional({ type: Number, nullable: true, example: 0 }) omitted_group_count?: number | null;
  @ApiPropertyOptional({ type: String, format: 'date-time', description: 'the cycle this asset class projects' }) next_runtime?:
    string | null;
}

export class EstimateCycleView {
  @ApiProperty({ example: 'Crypto' }) asset_class: string;
  @ApiProperty({ format: 'date-time' }) next_runtime: string;
}

export class EstimateByAssetClassView {
  @ApiProperty({ format: 'date-time' }) pulled_at: string;
  @ApiProperty({ type: [EstimateLineView] }) lines: EstimateLineView[];
}

export class SettlementEstimateView {
  @ApiProperty(at) pulled_at: string | null;
  @ApiProperty({ ...at, description: "the cycle it is for: the earliest asset class's next_runtime" }) next_runtime: string | null;
  @ApiProperty({ type: [EstimateCycleView] }) for_cycles: EstimateCycleView[];
  @ApiProperty(cc('99997842808')) settlement_balance_centicents: string | null;
  @ApiProperty(usd('$9,999,784.2808')) settlement_balance_usd: string | null;
  @ApiProperty({ type: EstimateLineView, nullable: true, description: 'all asset classes added up' })
  user_breakdown: EstimateLineView | null;
  @ApiProperty({ type: [EstimateLineView] }) subtrader_breakdowns: EstimateLineView[];
  @ApiProperty({ type: EstimateByAssetClassView, nullable: true }) by_asset_class: EstimateByAssetClassView | null;
}

export class SettlementBalanceView {
  @ApiProperty(at) pulled_at: string | null;
  @ApiProperty(cc('99997842808')) available_centicents: string | null;
  @ApiProperty(usd('$9,999,784.2808')) available_usd: string | null;
  @ApiProperty(cc('0')) locked_centicents: string | null;
  @ApiProperty(usd('$0.0000')) locked_usd: string | null;
}

export class BufferMovementView {
  @ApiProperty({ example: 'bt-settle-4-c73c6314', description: "Klear's transaction id" }) business_transaction_id: string;
  @ApiProperty({ format: 'date-time' }) created_ts: string;
  @ApiProperty({ example: 'settlement_payment' }) reason: string;
  @ApiProperty(cc('-340342')) balance_delta_centicents: string | null;
  @ApiProperty(usd('-$34.0342')) balance_delta_usd: string | null;
  @ApiProperty(cc('0')) locked_balance_delta_centicents: string | null;
  @ApiProperty(usd('$0.0000')) locked_balance_delta_usd: string | null;
  @ApiProperty({ format: 'date-time', description: 'when it was first pulled' }) pulled_at: string;
}

export class ReportFileView {
  @ApiProperty({ example: 18234 }) size_bytes: number;
  @ApiProperty({ description: "the stored file's SHA-256 (hex), as Klear's header gave it" }) sha256: string;
  @ApiProperty(at) downloaded_at: string | null;
}

export class MarginReportView {
  @ApiProperty({ example: '12' }) id: string;
  @ApiProperty({ example: 'margin_report' }) report_type: string;
  @ApiProperty({ example: '2026-11-03', description: 'the settlement day the report is for' }) date: string;
  @ApiProperty({ ...at, description: "Klear's creation time" }) created_ts: string | null;
  @ApiProperty() is_end_of_day: boolean;
  @ApiProperty(at) pulled_at: string | null;
  @ApiProperty({ type: ReportFileView, nullable: true, description: 'null until the margin_reports job has stored the file' })
  file: ReportFileView | null;
}

export class SubtraderLatestObligationView {
  @ApiProperty({ example: 'obl-2026-11-03-crypto' }) obligation_id: string;
  @ApiProperty({ type: [String], description: 'every obligation of that cycle (one per asset class)' }) obligation_ids: string[];
  @ApiProperty({ type: [String], example: ['Crypto'] }) asset_classes: string[];
  @ApiProperty(at) execution_time: string | null;
  @ApiProperty(at) pulled_at: string | null;
  @ApiProperty(cc('-120000')) pnl_centicents: string | null;
  @ApiProperty(usd('-$12.0000')) pnl_usd: string | null;
  @ApiProperty(cc('300')) fees_centicents: string | null;
  @ApiProperty(usd('$0.0300')) fees_usd: string | null;
  @ApiProperty(cc('-119700')) total_centicents: string | null;
  @ApiProperty(usd('-$11.9700')) total_usd: string | null;
  @ApiProperty(cc('350000')) maintenance_margin_centicents: string | null;
  @ApiProperty(usd('$35.0000')) maintenance_margin_usd: string | null;
  @ApiProperty(cc('5000')) maintenance_margin_delta_centicents: string | null;
  @ApiProperty(usd('$0.5000')) maintenance_margin_delta_usd: string | null;
  @ApiProperty(cc('-2500')) funding_centicents: string | null;
  @ApiProperty(usd('-$0.2500')) funding_usd: string | null;
  @ApiProperty({ example: 3 }) funding_payment_count: number;
}

export class SubtraderMarginGroupView {
  @ApiProperty({ example: 'GRP-0001' }) group_id: string;
  @ApiProperty(at) member_since: string | null;
}

export class SubtraderEstimateView {
  @ApiProperty(at) pulled_at: string | null;
  @ApiProperty(cc('-125300')) total_amount_centicents: string | null;
  @ApiProperty(usd('-$12.5300')) total_amount_usd: string | null;
}

export class SubtraderView {
  @ApiProperty({ example: 'ST-00001' }) subtrader_id: string;
  @ApiProperty({ ...at, description: 'first seen in a Klear obligation' }) seen_in_klear_at: string | null;
  @ApiProperty({ ...at, description: 'first seen in the internal ledger' }) seen_in_ledger_at: string | null;
  @ApiProperty({ type: SubtraderLatestObligationView, nullable: true, description: 'the latest cycle, every asset class added up' })
  latest_obligation: SubtraderLatestObligationView | null;
  @ApiProperty({ type: SubtraderMarginGroupView, nullable: true, description: 'the netted group it belongs to now' })
  margin_group: SubtraderMarginGroupView | null;
  @ApiProperty({ type: SubtraderEstimateView, nullable: true }) latest_estimate: SubtraderEstimateView | null;
}

export class GroupMembershipView {
  @ApiProperty({ example: 'ST-00001' }) subtrader_id: string;
  @ApiProperty(at) valid_from: string | null;
  @ApiProperty({ ...at, description: 'null while still a member' }) valid_to: string | null;
}

export class GroupMarginView {
  @ApiProperty(at) execution_time: string | null;
  @ApiProperty(cc('700000')) maintenance_margin_centicents: string | null;
  @ApiProperty(usd('$70.0000')) maintenance_margin_usd: string | null;
}

export class SubtraderGroupView {
  @ApiProperty({ example: 'GRP-0001' }) group_id: string;
  @ApiProperty({ type: [String] }) member_subtrader_ids: string[];
  @ApiProperty({ type: [GroupMembershipView], description: 'each join and leave at the pull that saw it' })
  membership_history: GroupMembershipView[];
  @ApiProperty({ type: GroupMarginView, nullable: true, description: "the group's requirement in its latest cycle" })
  latest_margin: GroupMarginView | null;
}
