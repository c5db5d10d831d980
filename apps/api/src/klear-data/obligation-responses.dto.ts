import { ApiProperty } from '@nestjs/swagger';
import { nullableText } from '../openapi-properties';

/*
 * The answers of the obligation routes, as documented in /docs-json: the views of klear-data.dto.ts
 * return these shapes (test/foundation/openapi-responses.test.ts holds the answers to them).
 */

const cc = (example: string) => ({ type: String, nullable: true, example, description: 'centicents, decimal string' });
const usd = (example: string) => ({ type: String, nullable: true, example });

export class SettlingMovementView {
  @ApiProperty({ example: 'bt-settle-41-9c2e1f0a' }) business_transaction_id: string;
  @ApiProperty({ format: 'date-time' }) created_ts: string;
  @ApiProperty(cc('-12503400')) balance_delta_centicents: string | null;
  @ApiProperty(usd('-$1,250.3400')) balance_delta_usd: string | null;
  @ApiProperty({ example: 'settlement_payment' }) reason: string;
  @ApiProperty({
    enum: ['receive_reference', 'amount', 'only_settlement_of_its_cycle'],
    description: 'how the movement was linked (docs/klear-api.md, "Obligations: due and paid")',
  })
  matched_by: string;
}

export class ObligationView {
  @ApiProperty({ example: 'obl-20261103-7f3a' }) id: string;
  @ApiProperty({ example: 'member-1' }) user_id: string;
  @ApiProperty({ example: 'Crypto' }) asset_class: string;
  @ApiProperty({ enum: ['member_pays', 'member_receives', 'nothing_due'] }) direction: string;
  @ApiProperty({
    example:
      'the member pays Klear $1,250.3400 for the Crypto cycle of 2026-11-03T22:00:00.000Z, due at 2026-11-03T22:00:00.000Z; paid: buffer movement bt-settle-41-9c2e1f0a of -$1,250.3400 at 2026-11-03T23:00:00.000Z',
  })
  in_words: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time', description: "when it is due: the cycle's execution time" }) due_at:
    string | null;
  @ApiProperty({ enum: ['paid', 'awaiting_payment', 'not_yet_due', 'nothing_due'] }) payment_status: string;
  @ApiProperty({ description: 'a Klear buffer movement settled it' }) paid: boolean;
  @ApiProperty({ type: SettlingMovementView, nullable: true }) buffer_movement: SettlingMovementView | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) execution_time: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) last_updated_ts: string | null;
  @ApiProperty(cc('-12503400')) amount_centicents: string | null;
  @ApiProperty(usd('-$1,250.3400')) amount_usd: string | null;
  @ApiProperty(cc('-9000000')) pnl_centicents: string | null;
  @ApiProperty(usd('-$900.0000')) pnl_usd: string | null;
  @ApiProperty(cc('3400')) fees_centicents: string | null;
  @ApiProperty(usd('$0.3400')) fees_usd: string | null;
  @ApiProperty(cc('35000000')) maintenance_margin_centicents: string | null;
  @ApiProperty(usd('$3,500.0000')) maintenance_margin_usd: string | null;
  @ApiProperty(cc('-500')) funding_centicents: string | null;
  @ApiProperty(usd('-$0.0500')) funding_usd: string | null;
  @ApiProperty({ example: 312 }) funding_payment_count: number;
  @ApiProperty({
    type: [String],
    example: ['settlement_details'],
    description: 'lists Klear cut at 1,000 inline, read in full from the paged endpoints',
  })
  completed_from_paged_endpoints: string[];
  @ApiProperty({ example: 1040 }) settlement_detail_count: number;
  @ApiProperty({ example: 1 }) version_count: number;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) first_pulled_at: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) pulled_at: string | null;
}

export class ActiveObligationsView {
  @ApiProperty({ enum: ['due', 'between_cycles', 'never_pulled'] }) state: string;
  @ApiProperty({
    example: 'no obligation is due: between cycles; the last settled cycle: ...; the next cycle runs at 2026-11-04T22:00:00.000Z',
  })
  summary: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) pulled_at: string | null;
  @ApiProperty({ type: [ObligationView], description: 'one per asset class' }) obligations: ObligationView[];
  @ApiProperty({ type: ObligationView, nullable: true, description: 'the first of them, for clients written before asset classes' })
  obligation: ObligationView | null;
  @ApiProperty({ type: ObligationView, nullable: true, description: 'the newest obligation no longer active, with its payment' })
  last_settled: ObligationView | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time', description: "the next cycle's time (the estimate's next_runtime)" })
  next_cycle: string | null;
}

export class SettlementDetailView {
  @ApiProperty({ example: 'sd-1' }) id: string;
  @ApiProperty({ example: 'BTC-PERP' }) market_ticker: string;
  @ApiProperty({ example: 'ST-00001' }) subtrader_id: string;
  @ApiProperty(cc('10000')) pnl_centicents: string | null;
  @ApiProperty(usd('$1.0000')) pnl_usd: string | null;
  @ApiProperty(cc('100')) fees_centicents: string | null;
  @ApiProperty(usd('$0.0100')) fees_usd: string | null;
  @ApiProperty(cc('9900')) total_centicents: string | null;
  @ApiProperty(usd('$0.9900')) total_usd: string | null;
}

export class ObligationReceiveView {
  @ApiProperty({ example: 'rcv-41' }) id: string;
  @ApiProperty({ example: 'settlement' }) type: string;
  @ApiProperty(cc('12503400')) amount_centicents: string | null;
  @ApiProperty(usd('$1,250.3400')) amount_usd: string | null;
  @ApiProperty({ example: 'bt-settle-41-9c2e1f0a', description: 'the buffer movement (business_transaction_id) it names' })
  external_reference: string;
  @ApiProperty({ format: 'date-time' }) created_ts: string;
}

export class MarginDetailView {
  @ApiProperty({ example: 'mm-1' }) id: string;
  @ApiProperty({ example: 'ST-00001' }) subtrader_id: string;
  @ApiProperty(cc('35000000')) maintenance_margin_centicents: string | null;
  @ApiProperty(usd('$3,500.0000')) maintenance_margin_usd: string | null;
  @ApiProperty(cc('500000')) maintenance_margin_delta_centicents: string | null;
  @ApiProperty(usd('$50.0000')) maintenance_margin_delta_usd: string | null;
}

export class ObligationVersionView {
  @ApiProperty({ format: 'date-time' }) last_updated_ts: string;
  @ApiProperty() content_sha256: string;
  @ApiProperty(cc('-12503400')) amount_centicents: string | null;
  @ApiProperty(usd('-$1,250.3400')) amount_usd: string | null;
  @ApiProperty(cc('3400')) fees_centicents: string | null;
  @ApiProperty(usd('$0.3400')) fees_usd: string | null;
  @ApiProperty({ format: 'date-time' }) first_pulled_at: string;
}

export class ObligationDetailView extends ObligationView {
  @ApiProperty({ type: [ObligationReceiveView] }) receives: ObligationReceiveView[];
  @ApiProperty({ type: [MarginDetailView] }) maintenance_margin_details: MarginDetailView[];
  @ApiProperty({ type: [ObligationVersionView] }) versions: ObligationVersionView[];
  @ApiProperty({ type: [SettlementDetailView], description: 'the first 500; the rest from GET /obligations/{id}/details' })
  settlement_details: SettlementDetailView[];
  @ApiProperty(nullableText(undefined, 'cursor for GET /obligations/{id}/details?cursor=, null when all are inline'))
  settlement_details_next_cursor: string | null;
}
