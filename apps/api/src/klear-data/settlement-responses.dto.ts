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
  @ApiPropertyOptional({ example: 0, description: 'user lines: subtraders Klear left out of the breakdowns' }) omitted_subtrader_count?: number;
  @ApiPropertyOptional({ type: Number, nullable: true, example: 0 }) omitted_group_count?: number | null;
  @ApiPropertyOptional({ type: String, format: 'date-time', description: 'the cycle this asset class projects' }) next_runtime?: string | null;
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
  @ApiProperty({ type: EstimateLineView, nullable: true, description: 'all asset classes added up' }) user_breakdown: EstimateLineView | null;
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
