import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { pageLimit, preparedRows } from '@app/db';
import { NotFound } from '@app/errors';
import { DataSource } from 'typeorm';
import { KLEAR_TRANSACTION_IDS_SQL, RUNNING_BALANCE_CAUSES_SQL } from './sql/break-sources.sql';
import { cycleKeyText } from './sql/cycle-key.sql';
import { LATEST_ESTIMATE_SNAPSHOT_SQL } from './recon-inputs';

export interface RunRow {
  id: string;
  scope: string;
  scope_key: string;
  cycle: Date | null;
  /** Where its observations are filed (as BreakRow's). */
  cycle_key: string;
  asset_class: string | null;
  /** Undefined where the run was listed without them (listRuns). */
  inputs?: Record<string, unknown>;
  inputs_sha256: string;
  status: string;
  started_at: Date;
  finished_at: Date | null;
  break_count: number;
  summary: Record<string, unknown> | null;
  error: string | null;
  created_by: string;
}

/** A break's figures as found (on the break: as last found; on an observation: as that run found them). */
export interface BreakFigures {
  reason_code: string;
  klear_value_centicents: string | null;
  internal_value_centicents: string | null;
  difference_centicents: string;
  pnl_difference_centicents: string | null;
  fees_difference_centicents: string | null;
}

export interface BreakRow extends BreakFigures {
  id: string;
  break_key: string;
  check: string;
  cycle: Date | null;
  /** Where its observations are filed, exact as text (`cycleKeyText`): a read of them names it. */
  cycle_key: string;
  asset_class: string | null;
  subtrader_id: string | null;
  market_ticker: string | null;
  reference: string | null;
  status: string;
  first_seen_run: string;
  last_seen_run: string;
  closed_by_run: string | null;
  assignee: string | null;
  resolution_reason: string | null;
  resolution_reference: string | null;
  resolution_note: string | null;
  resolved_by: string | null;
  resolved_by_user_id: string | null;
  cosigned_by: string | null;
  resolved_at: Date | null;
  write_off_difference_centicents: string | null;
}

export interface ObservationRow extends BreakFigures {
  run_id: string;
  ordinal: number;
  break_id: string;
  break_key: string;
  check: string;
  subtrader_id: string | null;
  klear_rows: unknown[];
  internal_rows: unknown[];
  status: string;
}

/** `unresolved`: every status a person still has to work (open, acknowledged, pending_write_off), assigned or not. */
export const UNRESOLVED_BREAK_STATUSES = ['open', 'acknowledged', 'pending_write_off'] as const;

/** A status filter as SQL: one status, or the unresolved ones. */
function statusList(status: string | undefined): string[] | null {
  if (status === undefined) return null;
  return status === 'unresolved' ? [...UNRESOLVED_BREAK_STATUSES] : [status];
}

/**
 * Orders of `GET /breaks`: `age` (default) oldest first, by first sighting (the numeric id);
 * `difference`: largest absolute difference first (numeric, not as text), ties oldest first.
 */
export type BreakOrder = 'age' | 'difference';

export interface AcknowledgementRow {
  acknowledged_by: string;
  acknowledged_at: Date;
  note: string | null;
}

export interface CommentRow {
  id: string;
  author: string;
  body: string;
  created_at: Date;
}

/** A buffer movement break a running-balance break carries. */
export interface BreakCause {
  break_id: string;
  break_key: string;
  reason_code: string;
  status: string;
  reference: string | null;
  difference_centicents: string;
  klear_transaction_ids: string[];
}

/** What a break derives from (docs/ledger-and-breaks.md, "What a break derives from"). */
export interface BreakSources {
  /** Klear's own ids of the rows behind the Klear side (for a running balance: those of its causes). */
  klear_transaction_ids: string[];
  /** Running-balance breaks only: the movement breaks whose differences it carries; null for the others. */
  derived_from: BreakCause[] | null;
}

export interface RunComparison {
  run_id: string;
  other_run_id: string;
  same_inputs: boolean;
  only_in_run: ObservationRow[];
  only_in_other: ObservationRow[];
  changed: Array<{ break_key: string; run: ObservationRow; other: ObservationRow }>;
  unchanged_count: number;
}

// Ids are answered as text; ORDER BY names the table's column (`recon_run.id`), since a bare `id` would be
// this text output column and sort 1, 10, 11, 2.
const RUN_LIST_COLUMNS = `id::text, scope, scope_key, cycle, asset_class, inputs_sha256, status, started_at, finished_at, break_count, summary, error, created_by,
  ${cycleKeyText('cycle')} AS cycle_key`;
const RUN_COLUMNS = `${RUN_LIST_COLUMNS}, inputs`;
const BREAK_COLUMNS = `id::text, break_key, "check", cycle, asset_class, subtrader_id, market_ticker, reference, reason_code,
  klear_value_centicents::text, internal_value_centicents::text, difference_centicents::text, pnl_difference_centicents::text,
  fees_difference_centicents::text, status, first_seen_run::text, last_seen_run::text, closed_by_run::text, assignee,
  resolution_reason, resolution_reference, resolution_note, resolved_by, resolved_by_user_id, cosigned_by, resolved_at,
  write_off_difference_centicents::text, ${cycleKeyText('cycle')} AS cycle_key`;
const OBSERVATION_COLUMNS = `o.run_id::text, o.ordinal, o.break_id::text, o.break_key, o."check", o.subtrader_id, o.reason_code,
  o.klear_value_centicents::text, o.internal_value_centicents::text, o.difference_centicents::text,
  o.pnl_difference_centicents::text, o.fees_difference_centicents::text, o.klear_rows, o.internal_rows, b.status`;

/**
 * Read side of reconciliation: runs, their breaks, breaks across runs, comparisons, and the inputs the
 * jobs pick runs from. Writing a run is ReconciliationRunRepository's (its two transactions under the
 * scope's lock); the two stay apart because one file would be ~670 lines of two roles.
 */
@Injectable()
export class ReconciliationRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Runs newest first. Without `withInputs` each run's `inputs` (the larger half of a run: every check's
   * snapshots and high-water marks) is not read and is undefined: a list page of runs is for choosing
   * one, and carrying them made a page of 30 runs 65 KB (issue 18).
   */
  async listRuns(filter: { scope?: string; status?: string; beforeId?: string; limit: number; withInputs?: boolean }): Promise<RunRow[]> {
    // A prepared statement per filter shape (only the filters given are in its text: a generic plan of
    // "$3 IS NULL OR id < $3" could not start the index scan at the cursor).
    const params: unknown[] = [];
    const where: string[] = [];
    if (filter.scope !== undefined) where.push(`scope = $${params.push(filter.scope)}`);
    if (filter.status !== undefined) where.push(`status = $${params.push(filter.status)}`);
    if (filter.beforeId !== undefined) where.push(`id < $${params.push(filter.beforeId)}::bigint`);
    const limit = pageLimit(filter.limit);
    return limit.take(
      await preparedRows<RunRow>(
        this.dataSource,
        `SELECT ${filter.withInputs ? RUN_COLUMNS : RUN_LIST_COLUMNS} FROM recon_run ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY recon_run.id DESC LIMIT ${limit.sql}`,
        params,
      ),
    );
  }

  async getRun(id: string): Promise<RunRow> {
    const [row] = (await this.dataSource.query(`SELECT ${RUN_COLUMNS} FROM recon_run WHERE id = $1`, [id])) as RunRow[];
    if (!row) throw new NotFound('reconciliation run', id);
    return row;
  }

  /**
   * A run's breaks in the run's order: the run's cycle is looked up (404 when unknown), then its
   * observations read from that cycle's partition only, named in the statement (cycle_key is the partition
   * key: only that partition is planned, where a cycle taken from a join is pruned only as the statement
   * runs, after every partition was planned: 81 ms of planning with a year of days); `?subtrader=` uses
   * the (run_id, subtrader_id, ordinal) index.
   */
  async runBreaks(
    runId: string,
    filter: { subtrader?: string; check?: string; status?: string; afterOrdinal?: number; limit: number },
  ): Promise<ObservationRow[]> {
    const [run] = (await this.dataSource.query(`SELECT ${cycleKeyText('cycle')} AS cycle_key FROM recon_run WHERE id = $1`, [
      runId,
    ])) as Array<{ cycle_key: string }>;
    if (!run) throw new NotFound('reconciliation run', runId);
    return (await this.dataSource.query(
      // Each observation's break is looked up by its key (the LATERAL's LIMIT keeps it a loop over the
      // run's observations, in ordinal order, up to the page): a join the planner may choose to hash read
      // every break ever found, and recon_break grows with history (issue 18: at day 10 of the growth world
      // one subtrader's page read all 810 breaks, 6 -> 25 buffers).
      `SELECT ${OBSERVATION_COLUMNS} FROM recon_break_observation o
         CROSS JOIN LATERAL (SELECT b.status FROM recon_break b WHERE b.id = o.break_id LIMIT 1) b
        WHERE o.cycle_key = $7::timestamptz AND o.run_id = $1
          AND ($2::text IS NULL OR o.subtrader_id = $2) AND ($3::text IS NULL OR o."check" = $3)
          AND ($4::text[] IS NULL OR b.status = ANY($4)) AND o.ordinal > $5
        ORDER BY o.ordinal LIMIT $6`,
      [
        runId,
        filter.subtrader ?? null,
        filter.check ?? null,
        statusList(filter.status),
        filter.afterOrdinal ?? 0,
        filter.limit,
        run.cycle_key,
      ],
    )) as ObservationRow[];
  }

  /** `after` is the cursor: the last row's id (`age`), or its absolute difference and id (`difference`). */
  async listBreaks(filter: {
    status?: string;
    check?: string;
    subtrader?: string;
    assignee?: string;
    /** The asset class of the run that found the break (part of its scope). */
    assetClass?: string;
    order?: BreakOrder;
    after?: { id: string; absDifference?: string };
    limit: number;
  }): Promise<Array<BreakRow & { abs_difference_centicents: string }>> {
    const byDifference = filter.order === 'difference';
    const page = byDifference
      ? `($5::bigint IS NULL OR (abs(difference_centicents), -id) < ($6::bigint, -$5::bigint))`
      : `($5::bigint IS NULL OR id > $5::bigint) AND $6::bigint IS NULL`;
    return this.dataSource.query(
      `SELECT ${BREAK_COLUMNS}, abs(difference_centicents)::text AS abs_difference_centicents FROM recon_break
        WHERE ($1::text[] IS NULL OR status = ANY($1)) AND ($2::text IS NULL OR "check" = $2) AND ($3::text IS NULL OR subtrader_id = $3)
          AND ($4::text IS NULL OR assignee = $4) AND ${page}
          AND ($8::text IS NULL OR asset_class = $8)
        ORDER BY ${byDifference ? 'abs(difference_centicents) DESC, recon_break.id' : 'recon_break.id'} LIMIT $7`,
      [
        statusList(filter.status),
        filter.check ?? null,
        filter.subtrader ?? null,
        filter.assignee ?? null,
        filter.after?.id ?? null,
        filter.after?.absDifference ?? null,
        filter.limit,
        filter.assetClass ?? null,
      ],
    );
  }

  async getBreak(id: string): Promise<{
    row: BreakRow;
    observations: ObservationRow[];
    comments: CommentRow[];
    acknowledgement: AcknowledgementRow | null;
    sources: BreakSources;
  }> {
    const [row] = (await this.dataSource.query(`SELECT ${BREAK_COLUMNS} FROM recon_break WHERE id = $1`, [id])) as BreakRow[];
    if (!row) throw new NotFound('break', id);
    const observations = (await this.dataSource.query(
      // Filed under the break's cycle (a break belongs to one scope, so to one cycle): only that partition is read.
      `SELECT ${OBSERVATION_COLUMNS} FROM recon_break_observation o JOIN recon_break b ON b.id = o.break_id
        WHERE o.break_id = $1 AND o.cycle_key = $2::timestamptz ORDER BY o.run_id DESC LIMIT 50`,
      [id, row.cycle_key],
    )) as ObservationRow[];
    const comments = (await this.dataSource.query(
      `SELECT id::text, author, body, created_at FROM recon_break_comment WHERE break_id = $1 ORDER BY recon_break_comment.id`,
      [id],
    )) as CommentRow[];
    // The acknowledgement (who, when, the note) is the latest break.acknowledge audit row: one record, shown on the break.
    const [acknowledgement] = (await this.dataSource.query(
      `SELECT actor AS acknowledged_by, occurred_at AS acknowledged_at, reason AS note FROM audit_log
        WHERE entity_type = 'recon_break' AND entity_id = $1 AND action = 'break.acknowledge' ORDER BY seq DESC LIMIT 1`,
      [id],
    )) as AcknowledgementRow[];
    const sources = (await this.sourcesOf([row])).get(row.id)!;
    return { row, observations, comments, acknowledgement: acknowledgement ?? null, sources };
  }

  /** For each break id: Klear's ids behind it and, for a running-balance break, the movement breaks it derives from. */
  async sourcesOf(breaks: Array<Pick<BreakRow, 'id' | 'check' | 'reason_code' | 'cycle_key'>>): Promise<Map<string, BreakSources>> {
    const sources = new Map<string, BreakSources>();
    const breakIds = breaks.map((b) => b.id);
    if (breakIds.length === 0) return sources;
    const causes = (await this.dataSource.query(RUNNING_BALANCE_CAUSES_SQL, [breakIds])) as Array<
      Omit<BreakCause, 'klear_transaction_ids'> & { cause_id: string; cause_cycle_key: string }
    >;
    const ids = [...new Set([...breakIds, ...causes.map((c) => c.cause_id)])];
    // Their observations' partitions, named: only those are planned and read.
    const cycleKeys = [...new Set([...breaks.map((b) => b.cycle_key), ...causes.map((c) => c.cause_cycle_key)])];
    const klearIds = new Map(
      (
        (await this.dataSource.query(KLEAR_TRANSACTION_IDS_SQL, [ids, cycleKeys])) as Array<{
          break_id: string;
          klear_transaction_ids: string[];
        }>
      ).map((r) => [r.break_id, r.klear_transaction_ids]),
    );
    const derived = new Map<string, BreakCause[]>();
    for (const { break_id, cause_id, cause_cycle_key: _, ...cause } of causes) {
      const list = derived.get(break_id) ?? [];
      list.push({ ...cause, break_id: cause_id, klear_transaction_ids: klearIds.get(cause_id) ?? [] });
      derived.set(break_id, list);
    }
    for (const { id, check, reason_code } of breaks) {
      const from = check === 'settlement_buffer' && reason_code === 'balance_mismatch' ? (derived.get(id) ?? []) : null;
      sources.set(id, {
        klear_transaction_ids: from ? [...new Set(from.flatMap((c) => c.klear_transaction_ids))].sort() : (klearIds.get(id) ?? []),
        derived_from: from,
      });
    }
    return sources;
  }

  /** What one run found that the other did not, and the breaks whose figures or reason changed. */
  async compare(runId: string, otherId: string): Promise<RunComparison> {
    const [run, other] = [await this.getRun(runId), await this.getRun(otherId)];
    const rows = (await this.dataSource.query(
      // Each run's observations from its cycle's partition, named (only those are planned and read).
      `WITH a AS (SELECT ${OBSERVATION_COLUMNS} FROM recon_break_observation o JOIN recon_break b ON b.id = o.break_id
                   WHERE o.run_id = $1 AND o.cycle_key = $3::timestamptz),
            z AS (SELECT ${OBSERVATION_COLUMNS} FROM recon_break_observation o JOIN recon_break b ON b.id = o.break_id
                   WHERE o.run_id = $2 AND o.cycle_key = $4::timestamptz)
       SELECT to_jsonb(a) AS a, to_jsonb(z) AS z
         FROM a FULL OUTER JOIN z ON z.break_key = a.break_key
        ORDER BY coalesce(a.break_key, z.break_key) COLLATE "C"`,
      [runId, otherId, run.cycle_key, other.cycle_key],
    )) as Array<{ a: ObservationRow | null; z: ObservationRow | null }>;
    const same = (x: ObservationRow, y: ObservationRow) =>
      x.reason_code === y.reason_code &&
      x.klear_value_centicents === y.klear_value_centicents &&
      x.internal_value_centicents === y.internal_value_centicents &&
      x.difference_centicents === y.difference_centicents;
    const result: RunComparison = {
      run_id: run.id,
      other_run_id: other.id,
      same_inputs: run.inputs_sha256 === other.inputs_sha256,
      only_in_run: [],
      only_in_other: [],
      changed: [],
      unchanged_count: 0,
    };
    for (const { a, z } of rows) {
      if (a && !z) result.only_in_run.push(a);
      else if (!a && z) result.only_in_other.push(z);
      else if (a && z && same(a, z)) result.unchanged_count++;
      else if (a && z) result.changed.push({ break_key: a.break_key, run: a, other: z });
    }
    return result;
  }

  /**
   * The (cycle, asset class) pairs with an ingested obligation that have executed by `executedBy` (an
   * open cycle's active obligation is left out), oldest first: each is reconciled by its own run.
   */
  async ingestedCycles(executedBy: Date): Promise<Array<{ cycle: Date; assetClass: string }>> {
    const rows = (await this.dataSource.query(
      `SELECT execution_time, asset_class FROM klear_obligation WHERE execution_time <= $1 GROUP BY 1, 2 ORDER BY execution_time, asset_class COLLATE "C"`,
      [executedBy],
    )) as Array<{ execution_time: Date; asset_class: string }>;
    return rows.map((r) => ({ cycle: r.execution_time, assetClass: r.asset_class }));
  }

  /** The asset classes with an obligation of the cycle, in name order. */
  async assetClassesOfCycle(cycle: Date): Promise<string[]> {
    const rows = (await this.dataSource.query(
      `SELECT asset_class FROM klear_obligation WHERE execution_time = $1 GROUP BY 1 ORDER BY asset_class COLLATE "C"`,
      [cycle],
    )) as Array<{ asset_class: string }>;
    return rows.map((r) => r.asset_class);
  }

  /** The asset classes the latest estimate snapshot projects (those with a class line of their own), in name order. */
  async assetClassesOfLatestEstimate(): Promise<string[]> {
    const rows = (await this.dataSource.query(
      `WITH latest AS (${LATEST_ESTIMATE_SNAPSHOT_SQL})
       SELECT l.asset_class FROM klear_estimate_line l JOIN latest ON l.snapshot_id = latest.id::bigint
        WHERE l.asset_class <> '' AND l.scope = 'user' GROUP BY 1 ORDER BY l.asset_class COLLATE "C"`,
    )) as Array<{ asset_class: string }>;
    return rows.map((r) => r.asset_class);
  }

  async latestSucceededSha(scopeKey: string): Promise<string | undefined> {
    const [row] = (await this.dataSource.query(
      `SELECT inputs_sha256 FROM recon_run WHERE scope_key = $1 AND status = 'succeeded' ORDER BY id DESC LIMIT 1`,
      [scopeKey],
    )) as Array<{ inputs_sha256: string }>;
    return row?.inputs_sha256;
  }

  async cyclesOnEtDate(date: string): Promise<Date[]> {
    const rows = (await this.dataSource.query(
      `SELECT DISTINCT execution_time FROM klear_obligation WHERE (execution_time AT TIME ZONE 'America/New_York')::date = $1::date ORDER BY execution_time`,
      [date],
    )) as Array<{ execution_time: Date }>;
    return rows.map((r) => r.execution_time);
  }
}
