import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsISO8601, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { BREAK_STATUSES, RECON_CHECKS, RESOLUTION_REASONS, type ResolutionReason } from '@app/db';
import { PageQuery } from '@app/http';
import { IsCenticentsString, moneyFields } from '@app/money';
import type { BreakDetailView, BreakView, ObservationView, RunComparisonView, RunListView, RunView } from './reconciliation-responses.dto';
import type { AcknowledgementRow, BreakRow, BreakSources, CommentRow, ObservationRow, RunComparison, RunRow } from '@app/reconciliation';

export class StartReconciliationBody {
  @ApiPropertyOptional({ example: '2026-11-03T21:00:00Z', description: 'the cycle (Klear execution_time) to reconcile' })
  @IsOptional()
  @IsISO8601({ strict: true })
  cycle?: string;

  @ApiPropertyOptional({ example: '2026-11-03', description: 'reconcile the cycle of this ET date' })
  @IsOptional()
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'date must be YYYY-MM-DD' })
  date?: string;

  @ApiPropertyOptional({
    example: 'Equity',
    description:
      'the asset class to reconcile (each runs on its own); required when the cycle has obligations in several, or, with projected, when the latest estimate projects several',
  })
  @IsOptional()
  @Matches(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, { message: 'asset_class must be an asset class name such as Crypto' })
  asset_class?: string;

  @ApiPropertyOptional({ description: "projected breaks from the latest settlement estimate's lines of one asset class" })
  @IsOptional()
  @IsBoolean()
  projected?: boolean;
}

export class RunsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: ['cycle', 'projected'] })
  @IsOptional()
  @IsIn(['cycle', 'projected'])
  scope?: string;

  @ApiPropertyOptional({ enum: ['running', 'succeeded', 'failed'] })
  @IsOptional()
  @IsIn(['running', 'succeeded', 'failed'])
  status?: string;

  @ApiPropertyOptional({
    enum: ['inputs'],
    description: '`inputs`: each run with its inputs, as GET /reconciliations/{id} answers it (without: the list leaves them out)',
  })
  @IsOptional()
  @IsIn(['inputs'])
  include?: string;
}

/** A break status, or `unresolved`: open, acknowledged or pending_write_off (assigned or not). */
export const BREAK_STATUS_FILTERS = [...BREAK_STATUSES, 'unresolved'] as const;

export class RunBreaksQuery extends PageQuery {
  @ApiPropertyOptional({ example: 'ST-00042' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  subtrader?: string;

  @ApiPropertyOptional({ enum: RECON_CHECKS })
  @IsOptional()
  @IsIn(RECON_CHECKS)
  check?: string;

  @ApiPropertyOptional({
    enum: BREAK_STATUS_FILTERS,
    description: '`unresolved`: open, acknowledged and pending_write_off together (what is still to work)',
  })
  @IsOptional()
  @IsIn(BREAK_STATUS_FILTERS)
  status?: string;
}

export class BreaksQuery extends RunBreaksQuery {
  @ApiPropertyOptional({ description: 'name of the person the break is assigned to' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  assignee?: string;

  @ApiPropertyOptional({
    enum: ['age', 'difference'],
    default: 'age',
    description:
      '`age` (default): oldest first (first seen, numeric id order); `difference`: largest absolute difference first, ties oldest first',
  })
  @IsOptional()
  @IsIn(['age', 'difference'])
  sort?: 'age' | 'difference';

  @ApiPropertyOptional({
    example: 'Crypto',
    description: 'breaks of one asset class: those its runs found (every run, of a cycle or projected, is per asset class)',
  })
  @IsOptional()
  @Matches(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, { message: 'asset_class must be an asset class name such as Crypto' })
  asset_class?: string;
}

export class BreakNoteBody {
  @ApiPropertyOptional({ maxLength: 2000 })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  note?: string;
}

export class CosignBody extends BreakNoteBody {
  @ApiProperty({
    example: '-1250',
    description:
      "the break's difference (klear - internal, centicents) this co-sign approves: must be the one proposed, and still the break's",
  })
  @IsCenticentsString()
  difference_centicents: string;
}

export class ResolveBreakBody {
  @ApiProperty({ enum: RESOLUTION_REASONS })
  @IsIn(RESOLUTION_REASONS)
  reason: ResolutionReason;

  @ApiPropertyOptional({ description: 'adjustment_booked: the ledger entry external_id; klear_error: the Klear ticket', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  reference?: string;

  @ApiPropertyOptional({ maxLength: 2000 })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  note?: string;

  @ApiPropertyOptional({
    example: '-1250',
    description: "the break's difference as you saw it (centicents); required for write_off, checked when given",
  })
  @IsOptional()
  @IsCenticentsString()
  difference_centicents?: string;
}

export class CommentBody {
  @ApiProperty({ minLength: 1, maxLength: 4000 })
  @IsString()
  @MinLength(1)
  @MaxLength(4000)
  body: string;
}

export class AssignBody {
  @ApiProperty({
    description: 'who works the break: the id or name of an enabled user (GET /users); the break shows the name',
    maxLength: 200,
  })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  assignee: string;
}

const money = moneyFields;

/** A run with its inputs (the one-run routes: they always read them). */
export function runView(r: RunRow): RunView {
  if (r.inputs === undefined) throw new Error(`run ${r.id} was read without its inputs`);
  return { ...runListView(r), inputs: r.inputs };
}

/** A run as the list answers it: its inputs when they were read (?include=inputs). */
export function runListView(r: RunRow): RunListView {
  return {
    id: r.id,
    scope: r.scope,
    cycle: r.cycle?.toISOString() ?? null,
    asset_class: r.asset_class,
    status: r.status,
    ...(r.inputs === undefined ? {} : { inputs: r.inputs }),
    inputs_sha256: r.inputs_sha256,
    break_count: r.break_count,
    summary: r.summary,
    error: r.error,
    started_at: r.started_at.toISOString(),
    finished_at: r.finished_at?.toISOString() ?? null,
    created_by: r.created_by,
  };
}

export function observationView(o: ObservationRow): ObservationView {
  return {
    break_id: o.break_id,
    run_id: o.run_id,
    ordinal: o.ordinal,
    key: o.break_key,
    check: o.check,
    subtrader_id: o.subtrader_id,
    reason_code: o.reason_code,
    ...money('klear_value', o.klear_value_centicents),
    ...money('internal_value', o.internal_value_centicents),
    ...money('difference', o.difference_centicents),
    ...money('pnl_difference', o.pnl_difference_centicents),
    ...money('fees_difference', o.fees_difference_centicents),
    klear_rows: o.klear_rows,
    internal_rows: o.internal_rows,
    status: o.status,
  };
}

/**
 * What the break derives from: Klear's transaction ids behind it and, for a running balance, the
 * movement breaks it carries, with the one root cause when a single break explains it to the centicent.
 */
function sourcesView(
  b: BreakRow,
  sources: BreakSources | undefined,
): Pick<BreakView, 'klear_transaction_ids' | 'root_cause_break_id' | 'derived_from'> {
  const from = sources?.derived_from ?? null;
  const carried = from?.reduce((sum, c) => sum + BigInt(c.difference_centicents), 0n) ?? null;
  const explains = carried !== null && carried === BigInt(b.difference_centicents);
  return {
    klear_transaction_ids: sources?.klear_transaction_ids ?? [],
    root_cause_break_id: from?.length === 1 && explains ? from[0].break_id : null,
    derived_from:
      from === null
        ? null
        : {
            breaks: from.map((c) => ({
              break_id: c.break_id,
              key: c.break_key,
              reason_code: c.reason_code,
              status: c.status,
              reference: c.reference,
              klear_transaction_ids: c.klear_transaction_ids,
              ...money('difference', c.difference_centicents),
            })),
            ...money('difference', carried!.toString()),
            explains_difference: explains,
          },
  };
}

export function breakView(b: BreakRow, sources?: BreakSources): BreakView {
  return {
    id: b.id,
    key: b.break_key,
    check: b.check,
    cycle: b.cycle?.toISOString() ?? null,
    asset_class: b.asset_class,
    subtrader_id: b.subtrader_id,
    market_ticker: b.market_ticker,
    reference: b.reference,
    reason_code: b.reason_code,
    ...money('klear_value', b.klear_value_centicents),
    ...money('internal_value', b.internal_value_centicents),
    ...money('difference', b.difference_centicents),
    ...money('pnl_difference', b.pnl_difference_centicents),
    ...money('fees_difference', b.fees_difference_centicents),
    ...sourcesView(b, sources),
    status: b.status,
    first_seen_run: b.first_seen_run,
    last_seen_run: b.last_seen_run,
    closed_by_run: b.closed_by_run,
    assignee: b.assignee,
    resolution: b.resolution_reason
      ? {
          reason: b.resolution_reason,
          reference: b.resolution_reference,
          note: b.resolution_note,
          resolved_by: b.resolved_by,
          cosigned_by: b.cosigned_by,
          resolved_at: b.resolved_at?.toISOString() ?? null,
          ...money('write_off_difference', b.write_off_difference_centicents),
        }
      : null,
  };
}

export function breakDetailView(detail: {
  row: BreakRow;
  observations: ObservationRow[];
  comments: CommentRow[];
  acknowledgement: AcknowledgementRow | null;
  sources: BreakSources;
}): BreakDetailView {
  const ack = detail.acknowledgement;
  return {
    ...breakView(detail.row, detail.sources),
    acknowledgement: ack
      ? { acknowledged_by: ack.acknowledged_by, acknowledged_at: ack.acknowledged_at.toISOString(), note: ack.note }
      : null,
    observations: detail.observations.map(observationView),
    comments: detail.comments.map((c) => ({ id: c.id, author: c.author, body: c.body, created_at: c.created_at.toISOString() })),
  };
}

export function comparisonView(c: RunComparison): RunComparisonView {
  return {
    run_id: c.run_id,
    other_run_id: c.other_run_id,
    same_inputs: c.same_inputs,
    only_in_run: c.only_in_run.map(observationView),
    only_in_other: c.only_in_other.map(observationView),
    changed: c.changed.map((x) => ({ key: x.break_key, run: observationView(x.run), other: observationView(x.other) })),
    unchanged_count: c.unchanged_count,
  };
}
