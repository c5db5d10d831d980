import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { BREAK_STATUSES, RECON_CHECKS, RESOLUTION_REASONS } from '@app/db';
import { nullableText } from '../openapi-properties';

/*
 * The answers of the reconciliation routes, as documented in /docs-json: the views of
 * reconciliation.dto.ts return these shapes (test/foundation/openapi-responses.test.ts holds every
 * answer to them, an undeclared field failing).
 */

const cc = (example: string, description?: string) => ({ example, description: description ?? 'centicents, decimal string' });
const nullableCc = (description?: string) => ({
  type: String,
  nullable: true,
  example: '-1250',
  description: description ?? 'centicents, decimal string (null: no value on that side)',
});
const usd = { example: '-$0.1250', description: 'dollars with every centicent' };
const nullableUsd = { type: String, nullable: true, example: '-$0.1250' };
const rows = {
  type: 'array' as const,
  items: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
  description: 'the rows behind the side (Klear detail ids or balance-history row numbers; ledger external ids, withdrawal ids)',
};

export class RunView {
  @ApiProperty({ example: '12' }) id: string;
  @ApiProperty({ enum: ['cycle', 'projected'] }) scope: string;
  @ApiProperty(nullableText('2026-11-03T22:00:00.000Z', 'the cycle (null for a projected run)')) cycle: string | null;
  @ApiProperty(nullableText('Crypto', "the asset class the run reconciles (a cycle's or a projected run)")) asset_class: string | null;
  @ApiProperty({ enum: ['running', 'succeeded', 'failed'] }) status: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'what the run read: snapshots, high-water marks, tolerances, each check’s inputs',
  })
  inputs: Record<string, unknown>;
  @ApiProperty({ example: '9f86d081...' }) inputs_sha256: string;
  @ApiProperty({ example: 3 }) break_count: number;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true, description: 'counts and totals per check' }) summary: Record<
    string,
    unknown
  > | null;
  @ApiProperty(nullableText()) error: string | null;
  @ApiProperty({ format: 'date-time' }) started_at: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) finished_at: string | null;
  @ApiProperty({ example: 'demo-operator' }) created_by: string;
}

/** A run as GET /reconciliations lists it: its inputs only with ?include=inputs. */
export class RunListView extends OmitType(RunView, ['inputs'] as const) {
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'what the run read, as GET /reconciliations/{id} answers it: only with ?include=inputs',
  })
  inputs?: Record<string, unknown>;
}

/** A break's figures (as one run found them, or as last found). */
export class BreakFiguresView {
  @ApiProperty(nullableCc()) klear_value_centicents: string | null;
  @ApiProperty(nullableUsd) klear_value_usd: string | null;
  @ApiProperty(nullableCc()) internal_value_centicents: string | null;
  @ApiProperty(nullableUsd) internal_value_usd: string | null;
  @ApiProperty(cc('-1250', 'klear - internal, centicents')) difference_centicents: string;
  @ApiProperty(usd) difference_usd: string;
  @ApiProperty(nullableCc()) pnl_difference_centicents: string | null;
  @ApiProperty(nullableUsd) pnl_difference_usd: string | null;
  @ApiProperty(nullableCc()) fees_difference_centicents: string | null;
  @ApiProperty(nullableUsd) fees_difference_usd: string | null;
}

export class ObservationView extends BreakFiguresView {
  @ApiProperty({ example: '41' }) break_id: string;
  @ApiProperty({ example: '12' }) run_id: string;
  @ApiProperty({ example: 1, description: "position in the run's order (by key)" }) ordinal: number;
  @ApiProperty({ example: 'settlement_details/2026-11-03T22:00:00Z/ST-00001/BTC-PERP' }) key: string;
  @ApiProperty({ enum: RECON_CHECKS }) check: string;
  @ApiProperty(nullableText('ST-00001')) subtrader_id: string | null;
  @ApiProperty({ example: 'amount_mismatch' }) reason_code: string;
  @ApiProperty(rows) klear_rows: unknown[];
  @ApiProperty(rows) internal_rows: unknown[];
  @ApiProperty({ enum: BREAK_STATUSES, description: "the break's status now" }) status: string;
}

export class BreakCauseView {
  @ApiProperty({ example: '7' }) break_id: string;
  @ApiProperty({ example: 'settlement_buffer/RCPT-20261103-1' }) key: string;
  @ApiProperty({ enum: ['missing_internal', 'missing_klear', 'amount_mismatch'] }) reason_code: string;
  @ApiProperty({ enum: BREAK_STATUSES }) status: string;
  @ApiProperty(nullableText('RCPT-20261103-1')) reference: string | null;
  @ApiProperty({ type: [String], example: ['RCPT-20261103-1'] }) klear_transaction_ids: string[];
  @ApiProperty(cc('5000')) difference_centicents: string;
  @ApiProperty(usd) difference_usd: string;
}

export class DerivedFromView {
  @ApiProperty({ type: [BreakCauseView] }) breaks: BreakCauseView[];
  @ApiProperty(cc('5000', 'their differences summed')) difference_centicents: string;
  @ApiProperty(usd) difference_usd: string;
  @ApiProperty({ description: "their sum is the running balance's difference to the centicent" }) explains_difference: boolean;
}

export class BreakResolutionView {
  @ApiProperty({ enum: RESOLUTION_REASONS }) reason: string;
  @ApiProperty(nullableText('adj-2026-11-03-1', 'the ledger entry (adjustment_booked) or Klear ticket (klear_error)')) reference:
    string | null;
  @ApiProperty(nullableText()) note: string | null;
  @ApiProperty(nullableText('demo-operator', 'who resolved it, or proposed the write-off')) resolved_by: string | null;
  @ApiProperty(nullableText('demo-approver-1')) cosigned_by: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) resolved_at: string | null;
  @ApiProperty(nullableCc('the difference a write-off names')) write_off_difference_centicents: string | null;
  @ApiProperty(nullableUsd) write_off_difference_usd: string | null;
}

export class BreakView extends BreakFiguresView {
  @ApiProperty({ example: '41' }) id: string;
  @ApiProperty({ example: 'settlement_buffer/2026-11-06T22:00:00Z/running_balance' }) key: string;
  @ApiProperty({ enum: RECON_CHECKS }) check: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) cycle: string | null;
  @ApiProperty(nullableText('Equity', 'the asset class of the run that found it')) asset_class: string | null;
  @ApiProperty(nullableText('ST-00001')) subtrader_id: string | null;
  @ApiProperty(nullableText('BTC-PERP')) market_ticker: string | null;
  @ApiProperty(nullableText('running_balance', "buffer: Klear's transaction id or the ledger reference; consistency: the field"))
  reference: string | null;
  @ApiProperty({ example: 'balance_mismatch' }) reason_code: string;
  @ApiProperty({
    type: [String],
    example: ['RCPT-20261103-1'],
    description: "Klear's own ids of the rows behind the Klear side (a running balance: its causes')",
  })
  klear_transaction_ids: string[];
  @ApiProperty(nullableText('7', 'the movement break that alone explains a running balance')) root_cause_break_id: string | null;
  @ApiProperty({ type: DerivedFromView, nullable: true, description: 'running-balance breaks: the movement breaks they carry' })
  derived_from: DerivedFromView | null;
  @ApiProperty({ enum: BREAK_STATUSES }) status: string;
  @ApiProperty({ example: '12' }) first_seen_run: string;
  @ApiProperty({ example: '15' }) last_seen_run: string;
  @ApiProperty(nullableText('16')) closed_by_run: string | null;
  @ApiProperty(nullableText('demo-operator')) assignee: string | null;
  @ApiProperty({ type: BreakResolutionView, nullable: true }) resolution: BreakResolutionView | null;
}

export class AcknowledgementView {
  @ApiProperty({ example: 'demo-operator' }) acknowledged_by: string;
  @ApiProperty({ format: 'date-time' }) acknowledged_at: string;
  @ApiProperty(nullableText('looking into it with treasury')) note: string | null;
}

export class BreakCommentView {
  @ApiProperty({ example: '3' }) id: string;
  @ApiProperty({ example: 'demo-operator' }) author: string;
  @ApiProperty({ example: 'receipt booked late by treasury' }) body: string;
  @ApiProperty({ format: 'date-time' }) created_at: string;
}

export class BreakDetailView extends BreakView {
  @ApiProperty({ type: AcknowledgementView, nullable: true }) acknowledgement: AcknowledgementView | null;
  @ApiProperty({ type: [ObservationView], description: 'what each run observed, newest first (50 at most)' })
  observations: ObservationView[];
  @ApiProperty({ type: [BreakCommentView] }) comments: BreakCommentView[];
}

export class ChangedObservationView {
  @ApiProperty() key: string;
  @ApiProperty({ type: ObservationView }) run: ObservationView;
  @ApiProperty({ type: ObservationView }) other: ObservationView;
}

export class RunComparisonView {
  @ApiProperty({ example: '15' }) run_id: string;
  @ApiProperty({ example: '12' }) other_run_id: string;
  @ApiProperty() same_inputs: boolean;
  @ApiProperty({ type: [ObservationView] }) only_in_run: ObservationView[];
  @ApiProperty({ type: [ObservationView] }) only_in_other: ObservationView[];
  @ApiProperty({ type: [ChangedObservationView] }) changed: ChangedObservationView[];
  @ApiProperty({ example: 40 }) unchanged_count: number;
}
