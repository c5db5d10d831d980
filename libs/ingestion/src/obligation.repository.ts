import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AdvisoryLocks, isoTimestampText, lockForTransaction, pageLimit, preparedRows, type SqlRunner } from '@app/db';
import type { ObligationEntry } from '@app/klear-contract';
import { DataSource } from 'typeorm';
import { bigints, copyText, type SqlTransaction } from './ingestion-transaction.repository';
import { ensureCyclePartition } from './cycle-partitions';
import { ObligationIncompleteError, type ObligationList, obligationContent, truncatedLists } from './obligation-content';
import { recordSubtradersSeenInKlear } from './subtrader.repository';

/** Above this many settlement details, rows go through COPY instead of one unnest() insert. */
const COPY_THRESHOLD = 5_000;

export type ObligationOutcome = 'new' | 'changed' | 'unchanged' | 'older_version';

/** The header figures as decimal text, in the order of their columns: amount, fees, maintenance margin, pnl. */
function headerFigures(entry: ObligationEntry): string[] {
  return [entry.amount_centicents, entry.fees_centicents, entry.maintenance_margin_centicents, entry.pnl_centicents].map(String);
}

/**
 * The same version (last_updated_ts, amount, header figures) is already held with every truncated
 * list completed: a re-read needs no paging.
 */
export async function heldComplete(tx: Pick<SqlTransaction, 'query'>, entry: ObligationEntry): Promise<boolean> {
  const lists = truncatedLists(entry);
  const rows = await tx.query<{ ok: boolean }>(
    `SELECT (last_updated_ts = $2 AND amount_centicents = $3 AND fees_centicents = $4 AND maintenance_margin_centicents = $5
             AND pnl_centicents = $6 AND completed_lists @> $7::text[]) AS ok
       FROM klear_obligation WHERE id = $1`,
    [entry.id, entry.last_updated_ts, ...headerFigures(entry), lists],
  );
  return rows[0]?.ok === true;
}

/**
 * Upserts one obligation by Klear id. A content change keeps the earlier version in
 * klear_obligation_version and replaces the current details; an unchanged obligation only has its
 * pull time moved. A version older than the current one (a stale page) is kept as a version only.
 */
export async function upsertObligation(
  tx: SqlTransaction,
  entry: ObligationEntry,
  archiveId: string,
  pulledAt: Date,
  /** Lists read in full from the paged endpoints (their inline form was truncated). */
  completedLists: readonly string[] = [],
  /** The entry's fields the contract does not name, in canonical text: part of its content. */
  unmapped?: string,
): Promise<{ outcome: ObligationOutcome; rowsWritten: number }> {
  // First, before any row lock: obligation writers take turns to commit (see refreshLatestFigures).
  await lockForTransaction(tx, AdvisoryLocks.obligationWrites);
  const incomplete = truncatedLists(entry).filter((list) => !completedLists.includes(list));
  if (incomplete.length > 0) {
    // Never stored from a cut list. The same version already held complete is simply seen again;
    // anything else must be completed from the paged endpoint first.
    if (await heldComplete(tx, entry)) {
      await tx.query(`UPDATE klear_obligation SET pulled_at = GREATEST(pulled_at, $2) WHERE id = $1`, [entry.id, pulledAt]);
      return { outcome: 'unchanged', rowsWritten: 0 };
    }
    throw new ObligationIncompleteError(entry.id, incomplete);
  }
  const { sha256: sha, repeatedIds } = obligationContent(entry, unmapped);
  // What is stored and counted: the last row of an id Klear repeated (the hash covers every row it gave).
  const stored = withoutRepeatedIds(entry, repeatedIds);
  // Klear's timestamps go to PostgreSQL as text: a JS Date would cut them to the millisecond.
  const lastUpdated = entry.last_updated_ts;
  const [current] = await tx.query<{ content_sha256: string; newer_held: boolean }>(
    `SELECT content_sha256, last_updated_ts > $2::timestamptz AS newer_held FROM klear_obligation WHERE id = $1 FOR UPDATE`,
    [entry.id, lastUpdated],
  );
  if (current?.content_sha256 === sha) {
    await tx.query(`UPDATE klear_obligation SET pulled_at = GREATEST(pulled_at, $2) WHERE id = $1`, [entry.id, pulledAt]);
    return { outcome: 'unchanged', rowsWritten: 0 };
  }
  const versionRows = await tx.query(
    `INSERT INTO klear_obligation_version (obligation_id, last_updated_ts, content_sha256, amount_centicents, fees_centicents,
       maintenance_margin_centicents, pnl_centicents, first_pulled_at, archive_id, asset_class)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING id`,
    [entry.id, lastUpdated, sha, ...headerFigures(entry), pulledAt, archiveId, entry.asset_class],
  );
  if (current?.newer_held) return { outcome: 'older_version', rowsWritten: versionRows.length };
  // execution_time is the cycle key every reader carries as a JS Date and looks up with `=`: it is
  // stored truncated to the millisecond (Klear's exact text stays in the raw archive; docs/ingestion.md).
  // The row may not exist yet for FOR UPDATE to lock while another transaction inserts it: the update
  // applies only over an older or equal version, so the newest last_updated_ts wins whatever the order.
  const applied = await tx.query<{ inserted: boolean; cycle: string }>(
    `INSERT INTO klear_obligation (id, user_id, amount_centicents, fees_centicents, maintenance_margin_centicents, pnl_centicents,
       execution_time, last_updated_ts, content_sha256, settlement_detail_count, first_pulled_at, pulled_at, archive_id,
       asset_class, funding_centicents, funding_payment_count, completed_lists)
     VALUES ($1, $2, $3, $4, $5, $6, date_trunc('milliseconds', $7::timestamptz), $8, $9, $10, $11, $11, $12, $13, $14, $15, $16)
     ON CONFLICT (id) DO UPDATE SET user_id = EXCLUDED.user_id, amount_centicents = EXCLUDED.amount_centicents,
       fees_centicents = EXCLUDED.fees_centicents, maintenance_margin_centicents = EXCLUDED.maintenance_margin_centicents,
       pnl_centicents = EXCLUDED.pnl_centicents, execution_time = EXCLUDED.execution_time, last_updated_ts = EXCLUDED.last_updated_ts,
       content_sha256 = EXCLUDED.content_sha256, settlement_detail_count = EXCLUDED.settlement_detail_count,
       pulled_at = EXCLUDED.pulled_at, archive_id = EXCLUDED.archive_id, asset_class = EXCLUDED.asset_class,
       funding_centicents = EXCLUDED.funding_centicents, funding_payment_count = EXCLUDED.funding_payment_count, completed_lists = EXCLUDED.completed_lists
     WHERE klear_obligation.last_updated_ts <= EXCLUDED.last_updated_ts
     RETURNING (xmax = 0) AS inserted, to_json(execution_time) #>> '{}' AS cycle`,
    [
      entry.id,
      entry.user_id,
      ...headerFigures(entry),
      entry.execution_time,
      lastUpdated,
      sha,
      stored.settlement_details.length,
      pulledAt,
      archiveId,
      entry.asset_class,
      stored.funding_payments.reduce((sum, f) => sum + f.funding_amount_centicents, 0n).toString(),
      stored.funding_payments.length,
      [...completedLists],
    ],
  );
  if (applied.length === 0) return { outcome: 'older_version', rowsWritten: versionRows.length };
  // Another transaction may have inserted the row (and its details) since our FOR UPDATE found none.
  const existed = !applied[0].inserted;
  // Details are partitioned by their obligation's cycle (month): its partition exists before they go in,
  // and rows filed under an earlier execution_time of this obligation leave.
  const cycle = applied[0].cycle;
  await ensureCyclePartition(tx, cycle);
  if (existed) {
    await tx.query(`DELETE FROM klear_settlement_detail WHERE obligation_id = $1 AND cycle <> $2`, [entry.id, cycle]);
  }
  const details = await replaceSettlementDetails(tx, stored, existed, cycle);
  const others = await replaceMarginDetailsAndReceives(tx, stored, cycle);
  const funding = await replaceFundingPayments(tx, stored);
  await recordSubtradersSeenInKlear(
    tx,
    [
      ...entry.settlement_details.map((d) => d.subtrader_id),
      ...entry.maintenance_margin_details.map((m) => m.subtrader_id),
      ...entry.funding_payments.map((f) => f.subtrader_id),
    ],
    pulledAt,
  );
  await refreshLatestFigures(tx, existed ? null : cycle);
  return { outcome: existed ? 'changed' : 'new', rowsWritten: 1 + versionRows.length + details + others + funding };
}

/**
 * Brings `klear_subtrader_latest_figures` (what GET /subtraders reads; migration LatestSubtraderFigures)
 * up to this transaction's writes. `written`: the cycle of an obligation this transaction added; a new
 * obligation of an older cycle than the latest leaves the latest cycle's figures as they are. A changed
 * obligation (null) always refreshes: it may have left the latest cycle. Call it inside a READ COMMITTED
 * transaction: it takes the obligation writers' lock (upsertObligation took it already, first, and holds
 * it to commit), so two transactions refresh in turn and the second reads the first's committed rows:
 * figures never miss an asset class stored beside them, and the later refresh never removes a row the
 * earlier one wrote.
 */
export async function refreshLatestFigures(tx: SqlRunner, written: string | null): Promise<void> {
  await lockForTransaction(tx, AdvisoryLocks.obligationWrites);
  await tx.query(
    `SELECT klear_subtrader_latest_figures_refresh() WHERE $1::timestamptz IS NULL OR $1::timestamptz >= (SELECT max(execution_time) FROM klear_obligation)`,
    [written],
  );
}

async function replaceFundingPayments(tx: SqlTransaction, entry: ObligationEntry): Promise<number> {
  await tx.query(`DELETE FROM klear_funding_payment WHERE obligation_id = $1`, [entry.id]);
  const rows = entry.funding_payments;
  if (rows.length === 0) return 0;
  const columns =
    'obligation_id, id, market_ticker, subtrader_id, funding_time, position_quantity_fp, notional_value_centicents, funding_amount_centicents';
  if (rows.length >= COPY_THRESHOLD) {
    const obligation = copyText(entry.id);
    await tx.copyIn(
      `COPY klear_funding_payment (${columns}) FROM STDIN`,
      (function* () {
        for (const f of rows) {
          yield `${obligation}\t${copyText(f.id)}\t${copyText(f.market_ticker)}\t${copyText(f.subtrader_id)}\t${f.funding_time}\t${f.position_quantity_fp}\t${f.notional_value_centicents}\t${f.funding_amount_centicents}\n`;
        }
      })(),
    );
    return rows.length;
  }
  await tx.query(
    `INSERT INTO klear_funding_payment (${columns})
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::numeric[], $7::bigint[], $8::bigint[])`,
    [
      entry.id,
      rows.map((f) => f.id),
      rows.map((f) => f.market_ticker),
      rows.map((f) => f.subtrader_id),
      rows.map((f) => f.funding_time),
      rows.map((f) => f.position_quantity_fp),
      bigints(rows.map((f) => f.notional_value_centicents)),
      bigints(rows.map((f) => f.funding_amount_centicents)),
    ],
  );
  return rows.length;
}

/** The merge of incoming settlement details: a held detail is rewritten only when a figure changed (each row returned is one written). */
const UPDATE_CHANGED_DETAILS = `ON CONFLICT (obligation_id, id, cycle) DO UPDATE SET market_ticker = EXCLUDED.market_ticker, subtrader_id = EXCLUDED.subtrader_id,
       pnl_centicents = EXCLUDED.pnl_centicents, fees_centicents = EXCLUDED.fees_centicents, total_centicents = EXCLUDED.total_centicents,
       position_quantity_fp = EXCLUDED.position_quantity_fp
     WHERE (klear_settlement_detail.market_ticker, klear_settlement_detail.subtrader_id, klear_settlement_detail.pnl_centicents,
            klear_settlement_detail.fees_centicents, klear_settlement_detail.total_centicents, klear_settlement_detail.position_quantity_fp)
        IS DISTINCT FROM (EXCLUDED.market_ticker, EXCLUDED.subtrader_id, EXCLUDED.pnl_centicents, EXCLUDED.fees_centicents, EXCLUDED.total_centicents, EXCLUDED.position_quantity_fp)
     RETURNING 1`;

async function replaceSettlementDetails(tx: SqlTransaction, entry: ObligationEntry, existed: boolean, cycle: string): Promise<number> {
  const rows = entry.settlement_details;
  const columns =
    'obligation_id, id, market_ticker, subtrader_id, pnl_centicents, fees_centicents, total_centicents, position_quantity_fp, cycle';
  if (!existed && rows.length >= COPY_THRESHOLD) {
    // A new obligation: nothing to merge with, COPY straight into the table.
    await tx.copyIn(`COPY klear_settlement_detail (${columns}) FROM STDIN`, detailLines(entry.id, rows, cycle));
    return rows.length;
  }
  if (rows.length >= COPY_THRESHOLD) {
    await tx.query(`CREATE TEMP TABLE tmp_settlement_detail (LIKE klear_settlement_detail INCLUDING DEFAULTS) ON COMMIT DROP`);
    await tx.copyIn(`COPY tmp_settlement_detail (${columns}) FROM STDIN`, detailLines(entry.id, rows, cycle));
    await tx.query(
      `DELETE FROM klear_settlement_detail d WHERE d.obligation_id = $1 AND NOT EXISTS (SELECT 1 FROM tmp_settlement_detail t WHERE t.id = d.id)`,
      [entry.id],
    );
    const changed = await tx.query(
      `INSERT INTO klear_settlement_detail (${columns}) SELECT ${columns} FROM tmp_settlement_detail ${UPDATE_CHANGED_DETAILS}`,
    );
    await tx.query(`DROP TABLE tmp_settlement_detail`);
    return changed.length;
  }
  const ids = rows.map((d) => d.id);
  await tx.query(`DELETE FROM klear_settlement_detail WHERE obligation_id = $1 AND NOT (id = ANY($2::text[]))`, [entry.id, ids]);
  if (rows.length === 0) return 0;
  const changed = await tx.query(
    `INSERT INTO klear_settlement_detail (${columns})
     SELECT $1, *, $9::timestamptz FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::numeric[])
     ${UPDATE_CHANGED_DETAILS}`,
    [
      entry.id,
      ids,
      rows.map((d) => d.market_ticker),
      rows.map((d) => d.subtrader_id),
      bigints(rows.map((d) => d.pnl_centicents)),
      bigints(rows.map((d) => d.total_fees_centicents)),
      bigints(rows.map((d) => d.total_amount_centicents)),
      rows.map((d) => d.position_quantity_fp),
      cycle,
    ],
  );
  return changed.length;
}

/** COPY lines of already de-duplicated details (de-duplicating 1,000,000 rows a second time cost a second). */
function* detailLines(
  obligationId: string,
  rows: readonly ObligationEntry['settlement_details'][number][],
  cycle: string,
): Generator<string> {
  const obligation = copyText(obligationId);
  for (const d of rows) {
    yield `${obligation}\t${copyText(d.id)}\t${copyText(d.market_ticker)}\t${copyText(d.subtrader_id)}\t${d.pnl_centicents}\t${d.total_fees_centicents}\t${d.total_amount_centicents}\t${d.position_quantity_fp}\t${cycle}\n`;
  }
}

/**
 * The entry with each list holding an id once: Klear repeating a detail id inside one obligation would
 * break COPY's primary key, and count twice in the obligation's totals; the last row of an id wins.
 * `repeatedIds` comes from the content hash's sorted walk: a list without a repeated id is kept as it came.
 */
function withoutRepeatedIds(entry: ObligationEntry, repeatedIds: ReadonlySet<ObligationList>): ObligationEntry {
  if (repeatedIds.size === 0) return entry;
  const once = <T extends { id: string }>(list: ObligationList, rows: T[]): T[] =>
    repeatedIds.has(list) ? [...new Map(rows.map((r) => [r.id, r])).values()] : rows;
  return {
    ...entry,
    settlement_details: once('settlement_details', entry.settlement_details),
    maintenance_margin_details: once('maintenance_margin_details', entry.maintenance_margin_details),
    funding_payments: once('funding_payments', entry.funding_payments),
    receives: once('receives', entry.receives),
  };
}

async function replaceMarginDetailsAndReceives(tx: SqlTransaction, entry: ObligationEntry, cycle: string): Promise<number> {
  const margin = entry.maintenance_margin_details;
  const receives = entry.receives;
  await tx.query(`DELETE FROM klear_margin_detail WHERE obligation_id = $1`, [entry.id]);
  await tx.query(`DELETE FROM klear_receive WHERE obligation_id = $1`, [entry.id]);
  if (margin.length) {
    await tx.query(
      `INSERT INTO klear_margin_detail (obligation_id, id, subtrader_id, maintenance_margin_centicents, maintenance_margin_delta_centicents, margin_group_id, cycle)
       SELECT $1, *, $7::timestamptz FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[])`,
      [
        entry.id,
        margin.map((m) => m.id),
        margin.map((m) => m.subtrader_id),
        bigints(margin.map((m) => m.maintenance_margin_centicents)),
        bigints(margin.map((m) => m.maintenance_margin_delta_centicents)),
        margin.map((m) => m.margin_group_id ?? null),
        cycle,
      ],
    );
  }
  if (receives.length) {
    await tx.query(
      `INSERT INTO klear_receive (obligation_id, id, type, amount_centicents, external_reference, created_ts)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[])`,
      [
        entry.id,
        receives.map((r) => r.id),
        receives.map((r) => r.type),
        bigints(receives.map((r) => r.amount_centicents)),
        receives.map((r) => r.external_reference),
        receives.map((r) => r.created_ts),
      ],
    );
  }
  return margin.length + receives.length;
}

/** One row per active obligation of a pull (one row with no obligation when none is active). */
export async function insertActiveObligationPull(
  tx: SqlTransaction,
  obligationIds: string[],
  archiveId: string,
  pulledAt: Date,
): Promise<void> {
  const ids = obligationIds.length > 0 ? obligationIds : [null];
  await tx.query(
    `INSERT INTO klear_active_obligation_pull (pulled_at, obligation_id, archive_id) SELECT $1, id, $3 FROM unnest($2::text[]) AS id`,
    [pulledAt, ids, archiveId],
  );
}

export interface ObligationRow {
  id: string;
  user_id: string;
  asset_class: string;
  amount_centicents: string;
  /** Sum of the obligation's funding payments (signed). */
  funding_centicents: string;
  funding_payment_count: number;
  /** Lists read in full from the paged endpoints (Klear cut them inline at 1,000 rows). */
  completed_lists: string[];
  fees_centicents: string;
  maintenance_margin_centicents: string;
  pnl_centicents: string;
  execution_time: Date;
  /** The timestamps as `Date.prototype.toISOString()` writes them (isoTimestampText). */
  execution_time_text: string;
  last_updated_ts: string;
  settlement_detail_count: number;
  first_pulled_at: string;
  pulled_at: string;
  /** Kept by the database as its versions arrive (migrations/1796235100000-ObligationSettledByStored.ts). */
  version_count: number;
  /**
   * The buffer movement that settled it (docs/klear-api.md, "Obligations: due and paid"), or null: kept by
   * the database as balance entries, receives, versions and obligations are written
   * (`klear_obligation_settled_by`, migrations/1796235100000-ObligationSettledByStored.ts).
   */
  settled_by: SettlingMovement | null;
}

/** A Klear balance-history entry that settled an obligation, and how it was linked. */
export interface SettlingMovement {
  business_transaction_id: string;
  /** UTC, microseconds ("2026-11-19T22:00:01.123456Z"). */
  created_ts: string;
  balance_delta_centicents: string;
  reason: string;
  /** `receive_reference`: its receive names it; `amount`: a settlement entry of its cycle with its amount; `only_settlement_of_its_cycle`: the one in its direction. */
  matched_by: 'receive_reference' | 'amount' | 'only_settlement_of_its_cycle';
}

export interface SettlementDetailRow {
  id: string;
  market_ticker: string;
  subtrader_id: string;
  pnl_centicents: string;
  fees_centicents: string;
  total_centicents: string;
}

// Timestamps the API only prints are formatted by the server (isoTimestampText): a page of 50 parsed 200
// Dates to format them again. execution_time stays a Date too: the cursor and the payment status use it.
const OBLIGATION_COLUMNS = `o.id, o.user_id, o.asset_class, o.amount_centicents, o.fees_centicents, o.maintenance_margin_centicents, o.pnl_centicents,
  o.funding_centicents, o.funding_payment_count, o.completed_lists, o.execution_time,
  ${isoTimestampText('o.execution_time')} AS execution_time_text, ${isoTimestampText('o.last_updated_ts')} AS last_updated_ts,
  o.settlement_detail_count, ${isoTimestampText('o.first_pulled_at')} AS first_pulled_at, ${isoTimestampText('o.pulled_at')} AS pulled_at,
  o.version_count, o.settled_by`;

/**
 * Ingested obligations as the API and the jobs read them (money stays decimal strings from
 * PostgreSQL to the API). Writes are the transaction-scoped functions above, called while an answer
 * is interpreted.
 */
@Injectable()
export class ObligationRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** `heldComplete` outside a transaction: whether a truncated obligation needs paging at all. */
  isHeldComplete(entry: ObligationEntry): Promise<boolean> {
    return heldComplete({ query: (sql, params) => this.dataSource.query(sql, params) }, entry);
  }

  /** The oldest execution time held (where a deep walk of the obligation history may stop). */
  async oldestExecutionTime(): Promise<Date | null> {
    const [held] = (await this.dataSource.query(`SELECT min(execution_time) AS oldest FROM klear_obligation`)) as Array<{
      oldest: Date | null;
    }>;
    return held?.oldest ?? null;
  }

  /** Execution times of the obligations held within `days` of the newest one, newest first. */
  async executionTimesWithinDays(days: number): Promise<Date[]> {
    const rows = (await this.dataSource.query(
      `SELECT execution_time FROM klear_obligation
        WHERE execution_time >= (SELECT max(execution_time) FROM klear_obligation) - make_interval(days => $1)
        ORDER BY execution_time DESC`,
      [days],
    )) as Array<{ execution_time: Date }>;
    return rows.map((r) => r.execution_time);
  }

  /** The latest pull of the active obligations: every obligation it listed (one per asset class). */
  async active(): Promise<{ pulledAt: Date; obligations: ObligationRow[] } | null> {
    const [pull] = (await this.dataSource.query(
      `SELECT pulled_at, archive_id FROM klear_active_obligation_pull ORDER BY pulled_at DESC, id DESC LIMIT 1`,
    )) as Array<{ pulled_at: Date; archive_id: string }>;
    if (!pull) return null;
    const obligations = (await this.dataSource.query(
      `SELECT ${OBLIGATION_COLUMNS} FROM klear_obligation o
        WHERE o.id IN (SELECT obligation_id FROM klear_active_obligation_pull WHERE archive_id = $1 AND pulled_at = $2)
        ORDER BY o.asset_class, o.id`,
      [pull.archive_id, pull.pulled_at],
    )) as ObligationRow[];
    return { pulledAt: pull.pulled_at, obligations };
  }

  /** Newest cycle first; `from`/`to` are ET dates bounding the execution time (inclusive). */
  async list(filter: {
    from?: string;
    to?: string;
    assetClass?: string;
    limit: number;
    after?: { executionTime: string; id: string };
  }): Promise<ObligationRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.assetClass) where.push(`o.asset_class = $${params.push(filter.assetClass)}`);
    if (filter.from) where.push(`o.execution_time >= ($${params.push(filter.from)}::date::timestamp AT TIME ZONE 'America/New_York')`);
    if (filter.to) where.push(`o.execution_time < (($${params.push(filter.to)}::date + 1)::timestamp AT TIME ZONE 'America/New_York')`);
    if (filter.after)
      where.push(`(o.execution_time, o.id) < ($${params.push(filter.after.executionTime)}::timestamptz, $${params.push(filter.after.id)})`);
    // Prepared, its limit a constant (issue 18).
    const limit = pageLimit(filter.limit);
    const rows = await preparedRows<ObligationRow>(
      this.dataSource,
      `SELECT ${OBLIGATION_COLUMNS} FROM klear_obligation o ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY o.execution_time DESC, o.id DESC LIMIT ${limit.sql}`,
      params,
    );
    return limit.take(rows);
  }

  async get(id: string): Promise<ObligationRow | null> {
    const [row] = (await this.dataSource.query(`SELECT ${OBLIGATION_COLUMNS} FROM klear_obligation o WHERE o.id = $1`, [
      id,
    ])) as ObligationRow[];
    return row ?? null;
  }

  receives(id: string) {
    return this.dataSource.query(
      `SELECT id, type, amount_centicents, external_reference, created_ts FROM klear_receive WHERE obligation_id = $1 ORDER BY created_ts, id`,
      [id],
    ) as Promise<Array<{ id: string; type: string; amount_centicents: string; external_reference: string; created_ts: Date }>>;
  }

  marginDetails(id: string) {
    return this.dataSource.query(
      `SELECT id, subtrader_id, maintenance_margin_centicents, maintenance_margin_delta_centicents FROM klear_margin_detail WHERE obligation_id = $1 ORDER BY subtrader_id, id`,
      [id],
    ) as Promise<
      Array<{ id: string; subtrader_id: string; maintenance_margin_centicents: string; maintenance_margin_delta_centicents: string }>
    >;
  }

  versions(id: string) {
    return this.dataSource.query(
      `SELECT id, last_updated_ts, content_sha256, amount_centicents, fees_centicents, maintenance_margin_centicents, pnl_centicents, first_pulled_at
         FROM klear_obligation_version WHERE obligation_id = $1 ORDER BY last_updated_ts, id`,
      [id],
    ) as Promise<
      Array<{
        id: string;
        last_updated_ts: Date;
        content_sha256: string;
        amount_centicents: string;
        fees_centicents: string;
        maintenance_margin_centicents: string;
        pnl_centicents: string;
        first_pulled_at: Date;
      }>
    >;
  }

  /** Settlement details a page at a time, ordered by (subtrader, id); optionally one subtrader's. */
  details(
    id: string,
    filter: { subtrader?: string; limit: number; after?: { subtraderId: string; id: string } },
  ): Promise<SettlementDetailRow[]> {
    const params: unknown[] = [id];
    const where = ['obligation_id = $1'];
    if (filter.subtrader !== undefined) where.push(`subtrader_id = $${params.push(filter.subtrader)}`);
    if (filter.after) where.push(`(subtrader_id, id) > ($${params.push(filter.after.subtraderId)}, $${params.push(filter.after.id)})`);
    return this.dataSource.query(
      `SELECT id, market_ticker, subtrader_id, pnl_centicents, fees_centicents, total_centicents FROM klear_settlement_detail
        WHERE ${where.join(' AND ')} ORDER BY subtrader_id, id LIMIT $${params.push(filter.limit)}`,
      params,
    ) as Promise<SettlementDetailRow[]>;
  }
}
