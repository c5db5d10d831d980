import { createHash } from 'node:crypto';
import { type ObligationEntry, stringifyKlearJson } from '@app/klear-contract';
import { bigints, copyText, type SqlTransaction } from './sql-transaction';
import { ensureCyclePartition } from './cycle-partitions';
import { recordSubtradersSeenInKlear } from './subtrader-registry';

/** Above this many settlement details, rows go through COPY instead of one unnest() insert. */
const COPY_THRESHOLD = 5_000;

export type ObligationOutcome = 'new' | 'changed' | 'unchanged' | 'older_version';

const byId = <T extends { id: string }>(rows: readonly T[]): T[] => [...rows].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

/**
 * SHA-256 of an obligation's whole content in a canonical form (lists sorted by id), so the same
 * obligation re-read, or served with its lists in another order, hashes the same.
 */
export function obligationContentHash(entry: ObligationEntry, unmapped?: string): string {
  // The *_truncated flags describe the transport, not the content: a completed list hashes alike.
  const {
    receives,
    settlement_details,
    maintenance_margin_details,
    funding_payments,
    settlement_details_truncated: _s,
    maintenance_margin_details_truncated: _m,
    funding_payments_truncated: _f,
    ...info
  } = entry;
  const hash = createHash('sha256').update(stringifyKlearJson(info));
  for (const r of byId(receives)) hash.update(`\nR${stringifyKlearJson(r)}`);
  for (const d of byId(settlement_details)) hash.update(`\nD${stringifyKlearJson(d)}`);
  for (const m of byId(maintenance_margin_details)) hash.update(`\nM${stringifyKlearJson(m)}`);
  for (const f of byId(funding_payments)) hash.update(`\nF${stringifyKlearJson(f)}`);
  // Fields the contract does not name (unmapped-content.ts); absent, the hash is as before them.
  if (unmapped !== undefined) hash.update(`\nU${unmapped}`);
  return hash.digest('hex');
}

/** An obligation whose inline lists were cut and not completed: never stored, the pull fails saying so. */
export class ObligationIncompleteError extends Error {
  constructor(
    readonly obligationId: string,
    readonly lists: string[],
  ) {
    super(`obligation ${obligationId}: ${lists.join(', ')} truncated at 1,000 rows and not completed from the paged endpoint; not stored`);
  }
}

/**
 * The same version (last_updated_ts, amount, header figures) is already held with every truncated
 * list completed: a re-read needs no paging.
 */
export async function heldComplete(tx: Pick<SqlTransaction, 'query'>, entry: ObligationEntry): Promise<boolean> {
  const lists = truncatedLists(entry);
  const rows = await tx.query<{ ok: boolean }>(
    `SELECT (last_updated_ts = $2 AND amount_centicents = $3 AND fees_centicents = $4 AND pnl_centicents = $5
             AND maintenance_margin_centicents = $6 AND completed_lists @> $7::text[]) AS ok
       FROM klear_obligation WHERE id = $1`,
    [entry.id, entry.last_updated_ts, entry.amount_centicents.toString(), entry.fees_centicents.toString(), entry.pnl_centicents.toString(), entry.maintenance_margin_centicents.toString(), lists],
  );
  return rows[0]?.ok === true;
}

/** The lists of an entry Klear cut at 1,000 rows (their complete form is on the paged endpoints). */
export function truncatedLists(entry: ObligationEntry): Array<'settlement_details' | 'maintenance_margin_details' | 'funding_payments'> {
  const lists: Array<'settlement_details' | 'maintenance_margin_details' | 'funding_payments'> = [];
  if (entry.settlement_details_truncated) lists.push('settlement_details');
  if (entry.maintenance_margin_details_truncated) lists.push('maintenance_margin_details');
  if (entry.funding_payments_truncated) lists.push('funding_payments');
  return lists;
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
  const sha = obligationContentHash(entry, unmapped);
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
    [entry.id, lastUpdated, sha, entry.amount_centicents.toString(), entry.fees_centicents.toString(), entry.maintenance_margin_centicents.toString(), entry.pnl_centicents.toString(), pulledAt, archiveId, entry.asset_class],
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
      entry.id, entry.user_id, entry.amount_centicents.toString(), entry.fees_centicents.toString(), entry.maintenance_margin_centicents.toString(),
      entry.pnl_centicents.toString(), entry.execution_time, lastUpdated, sha, entry.settlement_details.length, pulledAt, archiveId,
      entry.asset_class, entry.funding_payments.reduce((sum, f) => sum + f.funding_amount_centicents, 0n).toString(), entry.funding_payments.length, [...completedLists],
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
  const details = await replaceSettlementDetails(tx, entry, existed, cycle);
  const others = await replaceMarginDetailsAndReceives(tx, entry, cycle);
  const funding = await replaceFundingPayments(tx, entry);
  await recordSubtradersSeenInKlear(
    tx,
    [...entry.settlement_details.map((d) => d.subtrader_id), ...entry.maintenance_margin_details.map((m) => m.subtrader_id), ...entry.funding_payments.map((f) => f.subtrader_id)],
    pulledAt,
  );
  return { outcome: existed ? 'changed' : 'new', rowsWritten: 1 + versionRows.length + details + others + funding };
}

async function replaceFundingPayments(tx: SqlTransaction, entry: ObligationEntry): Promise<number> {
  await tx.query(`DELETE FROM klear_funding_payment WHERE obligation_id = $1`, [entry.id]);
  const rows = dedupeById(entry.funding_payments);
  if (rows.length === 0) return 0;
  const columns = 'obligation_id, id, market_ticker, subtrader_id, funding_time, position_quantity_fp, notional_value_centicents, funding_amount_centicents';
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

async function replaceSettlementDetails(tx: SqlTransaction, entry: ObligationEntry, existed: boolean, cycle: string): Promise<number> {
  const rows = dedupeById(entry.settlement_details);
  const columns = 'obligation_id, id, market_ticker, subtrader_id, pnl_centicents, fees_centicents, total_centicents, position_quantity_fp, cycle';
  if (!existed && rows.length >= COPY_THRESHOLD) {
    // A new obligation: nothing to merge with, COPY straight into the table.
    await tx.copyIn(`COPY klear_settlement_detail (${columns}) FROM STDIN`, detailLines(entry.id, rows, cycle));
    return rows.length;
  }
  if (rows.length >= COPY_THRESHOLD) {
    await tx.query(`CREATE TEMP TABLE tmp_settlement_detail (LIKE klear_settlement_detail INCLUDING DEFAULTS) ON COMMIT DROP`);
    await tx.copyIn(`COPY tmp_settlement_detail (${columns}) FROM STDIN`, detailLines(entry.id, rows, cycle));
    await tx.query(`DELETE FROM klear_settlement_detail d WHERE d.obligation_id = $1 AND NOT EXISTS (SELECT 1 FROM tmp_settlement_detail t WHERE t.id = d.id)`, [entry.id]);
    const changed = await tx.query(
      `INSERT INTO klear_settlement_detail (${columns}) SELECT ${columns} FROM tmp_settlement_detail
       ON CONFLICT (obligation_id, id, cycle) DO UPDATE SET market_ticker = EXCLUDED.market_ticker, subtrader_id = EXCLUDED.subtrader_id,
         pnl_centicents = EXCLUDED.pnl_centicents, fees_centicents = EXCLUDED.fees_centicents, total_centicents = EXCLUDED.total_centicents,
         position_quantity_fp = EXCLUDED.position_quantity_fp
       WHERE (klear_settlement_detail.market_ticker, klear_settlement_detail.subtrader_id, klear_settlement_detail.pnl_centicents,
              klear_settlement_detail.fees_centicents, klear_settlement_detail.total_centicents, klear_settlement_detail.position_quantity_fp)
          IS DISTINCT FROM (EXCLUDED.market_ticker, EXCLUDED.subtrader_id, EXCLUDED.pnl_centicents, EXCLUDED.fees_centicents, EXCLUDED.total_centicents, EXCLUDED.position_quantity_fp)
       RETURNING 1`,
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
     ON CONFLICT (obligation_id, id, cycle) DO UPDATE SET market_ticker = EXCLUDED.market_ticker, subtrader_id = EXCLUDED.subtrader_id,
       pnl_centicents = EXCLUDED.pnl_centicents, fees_centicents = EXCLUDED.fees_centicents, total_centicents = EXCLUDED.total_centicents,
       position_quantity_fp = EXCLUDED.position_quantity_fp
     WHERE (klear_settlement_detail.market_ticker, klear_settlement_detail.subtrader_id, klear_settlement_detail.pnl_centicents,
            klear_settlement_detail.fees_centicents, klear_settlement_detail.total_centicents, klear_settlement_detail.position_quantity_fp)
        IS DISTINCT FROM (EXCLUDED.market_ticker, EXCLUDED.subtrader_id, EXCLUDED.pnl_centicents, EXCLUDED.fees_centicents, EXCLUDED.total_centicents, EXCLUDED.position_quantity_fp)
     RETURNING 1`,
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
function* detailLines(obligationId: string, rows: readonly ObligationEntry['settlement_details'][number][], cycle: string): Generator<string> {
  const obligation = copyText(obligationId);
  for (const d of rows) {
    yield `${obligation}\t${copyText(d.id)}\t${copyText(d.market_ticker)}\t${copyText(d.subtrader_id)}\t${d.pnl_centicents}\t${d.total_fees_centicents}\t${d.total_amount_centicents}\t${d.position_quantity_fp}\t${cycle}\n`;
  }
}

/** Klear repeating a detail id inside one obligation would break COPY's primary key: the last one wins. */
function dedupeById<T extends { id: string }>(rows: readonly T[]): readonly T[] {
  const seen = new Map<string, T>();
  for (const r of rows) seen.set(r.id, r);
  return seen.size === rows.length ? rows : [...seen.values()];
}

async function replaceMarginDetailsAndReceives(tx: SqlTransaction, entry: ObligationEntry, cycle: string): Promise<number> {
  const margin = dedupeById(entry.maintenance_margin_details);
  const receives = dedupeById(entry.receives);
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
      [entry.id, receives.map((r) => r.id), receives.map((r) => r.type), bigints(receives.map((r) => r.amount_centicents)), receives.map((r) => r.external_reference), receives.map((r) => r.created_ts)],
    );
  }
  return margin.length + receives.length;
}
