import { ApiProperty } from '@nestjs/swagger';

/*
 * GET /headroom's answer as documented in /docs-json (the figures are those of libs/withdrawals'
 * checkHeadroom); test/foundation/openapi-responses.test.ts holds the answer to it.
 */

const cc = (description: string, example = '0') => ({ example, description: `${description} (centicents, decimal string)` });

export class ActiveObligationTermView {
  @ApiProperty({ example: 'Crypto' }) asset_class: string;
  @ApiProperty({ example: 'obl-20261103-7f3a' }) id: string;
  @ApiProperty(cc('its amount', '-340342')) amount_centicents: string;
  @ApiProperty(cc('what of it the member pays', '340342')) payable_centicents: string;
}

export class EstimateTermView {
  @ApiProperty({ example: 'Crypto' }) asset_class: string;
  @ApiProperty(cc("the estimate's total amount", '-125300')) total_amount_centicents: string;
  @ApiProperty(cc('what of it the member would pay', '125300')) payable_centicents: string;
}

export class HeadroomFiguresView {
  @ApiProperty({ example: 'available - not_yet_locked_withdrawals - reserve >= amount' }) formula: string;
  @ApiProperty(cc('the amount asked (0 for GET /headroom)')) amount_centicents: string;
  @ApiProperty(cc('the buffer available at Klear')) available_centicents: string;
  @ApiProperty(cc('withdrawals approved or sent that Klear has not locked yet')) not_yet_locked_withdrawals_centicents: string;
  @ApiProperty({ type: [String] }) not_yet_locked_withdrawal_ids: string[];
  @ApiProperty(cc('active obligation payable + estimate payable + floor')) reserve_centicents: string;
  @ApiProperty(cc('the active obligations payable')) reserve_active_obligation_payable_centicents: string;
  @ApiProperty(cc('the estimate payable')) reserve_estimate_payable_centicents: string;
  @ApiProperty(cc("the policy's reserve floor")) reserve_floor_centicents: string;
  @ApiProperty(cc('available - not yet locked - reserve')) headroom_centicents: string;
  @ApiProperty(cc('how much the amount passes the headroom by')) shortfall_centicents: string;
  @ApiProperty(cc('locked at Klear')) locked_centicents: string;
  @ApiProperty({ type: String, nullable: true }) active_obligation_id: string | null;
  @ApiProperty({ type: [ActiveObligationTermView] }) active_obligations: ActiveObligationTermView[];
  @ApiProperty({ type: [EstimateTermView] }) estimates_by_asset_class: EstimateTermView[];
  @ApiProperty({ format: 'date-time' }) balance_pulled_at: string;
  @ApiProperty({ example: 'stored', description: 'the balance as stored, or refreshed from Klear for this answer' }) balance_source: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) estimate_pulled_at: string | null;
}

export class PendingApprovalTermView {
  @ApiProperty({ example: 1 }) count: number;
  @ApiProperty(cc('the requests waiting for approval', '2500000000')) total_centicents: string;
  @ApiProperty({ example: '$250,000.0000' }) total_usd: string;
  @ApiProperty({ type: [String] }) request_ids: string[];
}

export class HeadroomNowView {
  @ApiProperty({ format: 'date-time' }) as_of: string;
  @ApiProperty({ example: 1 }) policy_version: number;
  @ApiProperty(cc('how much could be withdrawn now', '99972842808')) headroom_centicents: string;
  @ApiProperty({ example: '$9,997,284.2808' }) headroom_usd: string;
  @ApiProperty({ type: PendingApprovalTermView }) pending_approval: PendingApprovalTermView;
  @ApiProperty(cc('the headroom once the waiting requests are approved', '97472842808')) headroom_after_pending_approval_centicents: string;
  @ApiProperty({ example: '$9,747,284.2808' }) headroom_after_pending_approval_usd: string;
  @ApiProperty({ type: HeadroomFiguresView }) figures: HeadroomFiguresView;
}
