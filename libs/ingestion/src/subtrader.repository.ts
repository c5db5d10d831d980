import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { isoTimestampText, pageLimit, preparedRows } from '@app/db';
import { DataSource } from 'typeorm';
import type { MarginSubtraderGroup } from '@app/klear-contract';
import type { SqlTransaction } from './ingestion-transaction.repository';

/**
 * Records subtraders seen in Klear data in the shared `subtrader` registry (the ledger owns the
 * table; Klear ingestion only sets `first_seen_in_klear_at`, once). Empty ids are not subtraders.
 */
export async function recordSubtradersSeenInKlear(tx: SqlTransaction, ids: Iterable<string>, seenAt: Date): Promise<number> {
  const distinct = [...new Set([...ids].filter((id) => id !== ''))].sort();
  if (distinct.length === 0) return 0;
  const rows = await tx.query(
    `INSERT INTO subtrader (subtrader_id, first_seen_in_klear_at)
     SELECT id, $2 FROM unnest($1::text[]) AS t(id)
     ON CONFLICT (subtrader_id) DO UPDATE SET first_seen_in_klear_at = EXCLUDED.first_seen_in_klear_at
       WHERE subtrader.first_seen_in_klear_at IS NULL
     RETURNING subtrader_id`,
    [distinct, seenAt],
  );
  return rows.length;
}

/**
 * Subtrader group membership with history: a (group, subtrader) pair listed and not held opens a
 * membership at the pull time; one held and no longer listed is closed at the pull time.
 */
export async function recordSubtraderGroups(
  tx: SqlTransaction,
  answer: { groups: MarginSubtraderGroup[] },
  archiveId: string,
  pulledAt: Date,
): Promise<number> {
  const pairs = answer.groups.flatMap((g) => g.member_subtrader_ids.map((subtrader) => [g.group_id, subtrader] as const));
  const closed = await tx.query(
    `UPDATE klear_subtrader_group_membership m SET valid_to = $3, ended_archive_id = $4
      WHERE m.valid_to IS NULL AND m.valid_from <= $3
        AND NOT EXISTS (SELECT 1 FROM unnest($1::text[], $2::text[]) AS t(g, s) WHERE t.g = m.group_id AND t.s = m.subtrader_id)
      RETURNING 1`,
    [pairs.map((p) => p[0]), pairs.map((p) => p[1]), pulledAt, archiveId],
  );
  const opened = await tx.query(
    `INSERT INTO klear_subtrader_group_membership (group_id, subtrader_id, valid_from, archive_id)
     SELECT DISTINCT t.g, t.s, $3::timestamptz, $4::bigint FROM unnest($1::text[], $2::text[]) AS t(g, s)
     ON CONFLICT (group_id, subtrader_id) WHERE valid_to IS NULL DO NOTHING RETURNING 1`,
    [pairs.map((p) => p[0]), pairs.map((p) => p[1]), pulledAt, archiveId],
  );
  return closed.length + opened.length;
}

export interface SubtraderGroupRow {
  group_id: string;
  members: string[];
  history: Array<{ subtrader_id: string; valid_from: string; valid_to: string | null }>;
  execution_time: Date | null;
  maintenance_margin_centicents: string | null;
}

/**
 * One subtrader with its latest Klear figures, as `SubtraderRepository.page` reads it: timestamps as
 * ISO-8601 text (UTC, milliseconds), money as decimal strings of centicents, null where there is none.
 */
export interface SubtraderRow {
  subtrader_id: string;
  first_seen_in_klear_at: string | null;
  first_seen_in_ledger_at: string | null;
  obligation_id: string | null;
  obligation_ids: string[] | null;
  asset_classes: string[] | null;
  execution_time: string | null;
  obligation_pulled_at: string | null;
  pnl_centicents: string | null;
  fees_centicents: string | null;
  total_centicents: string | null;
  maintenance_margin_centicents: string | null;
  maintenance_margin_delta_centicents: string | null;
  funding_centicents: string | null;
  funding_payment_count: number | null;
  margin_group_id: string | null;
  margin_group_since: string | null;
  estimate_pulled_at: string | null;
  estimate_total_amount_centicents: string | null;
}

/**
 * Gives every row of a page the fields its first row carries for all of them (the latest cycle's
 * obligations and times, the latest estimate's pull time): the statement sends them once.
 */
function sharePageConstants(rows: SubtraderRow[]): SubtraderRow[] {
  const [first] = rows;
  for (const row of rows.slice(1)) {
    row.obligation_id = first.obligation_id;
    row.obligation_ids = first.obligation_ids;
    row.asset_classes = first.asset_classes;
    row.execution_time = first.execution_time;
    row.obligation_pulled_at = first.obligation_pulled_at;
    row.estimate_pulled_at = first.estimate_pulled_at;
  }
  return rows;
}

/** Subtraders and their netted groups, with their latest Klear figures, as the API reads them. */
@Injectable()
export class SubtraderRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Subtraders with their latest Klear figures: totals of the latest cycle's obligations (every asset
   * class), their maintenance margin and funding payments, all from `klear_subtrader_latest_figures`
   * (one row per subtrader, refreshed in the transaction that stores an obligation of the latest cycle;
   * migration LatestSubtraderFigures: issue 18, the page read three tables that grow with every cycle
   * before), the netted group the subtrader belongs to now (whose margin is the group's), and the latest
   * estimate line. Only figures of the cycle latest now are used (a row left from another cycle reads
   * as none). One statement; its timestamps come as ISO text (issue 18: parsing each into a Date and
   * formatting it again was a tenth of the route's time).
   *
   * What is the same for every row of a page (the latest cycle's obligations, asset classes, times, and
   * the latest estimate's pull time) is formatted once and sent on the page's first row only, then shared
   * by every row here (issue 18): on a page of 50, formatting and parsing them 50 times was 150 of the
   * statement's 300 timestamp formats and 100 array parses.
   */
  async page(filter: { id?: string; limit: number; after?: string }) {
    const params: unknown[] = [];
    const where: string[] = [];
    if (filter.id !== undefined) where.push(`s.subtrader_id = $${params.push(filter.id)}`);
    if (filter.after !== undefined) where.push(`s.subtrader_id > $${params.push(filter.after)}`);
    // The page of subtraders is chosen first (keyset, by id) and only its rows are looked up: whatever
    // plan the statistics of a fresh or freshly grown database suggest, the latest figures are read
    // for `limit` subtraders, never for the whole registry before sorting.
    const limit = pageLimit(filter.limit);
    // The page's subtraders as a key range, first to last (the `page_start` CTE).
    const pageRange = '(SELECT subtrader_id FROM page_start) AND (SELECT last_id FROM page_start)';
    // Prepared, its limit a constant (issue 18): planning this statement cost more than running it.
    const rows = await preparedRows<SubtraderRow>(
      this.dataSource,
      `WITH page AS MATERIALIZED (SELECT s.subtrader_id, s.first_seen_in_klear_at, s.first_seen_in_ledger_at FROM subtrader s
                                   ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY s.subtrader_id LIMIT ${limit.sql}),
            latest AS (SELECT min(id) AS id, array_agg(id ORDER BY asset_class, id) AS ids, array_agg(DISTINCT asset_class ORDER BY asset_class) AS asset_classes,
                              max(execution_time) AS execution_time, ${isoTimestampText('max(execution_time)')} AS execution_time_text,
                              ${isoTimestampText('max(pulled_at)')} AS pulled_at_text
                         FROM klear_obligation WHERE execution_time = (SELECT max(execution_time) FROM klear_obligation) HAVING count(*) > 0),
            est AS (SELECT id, ${isoTimestampText('pulled_at')} AS pulled_at_text FROM klear_estimate_snapshot
                     WHERE source = 'settlement_estimate_by_asset_class' ORDER BY pulled_at DESC, id DESC LIMIT 1),
            page_start AS (SELECT min(subtrader_id) AS subtrader_id, max(subtrader_id) AS last_id FROM page),
            -- Each table read once for the whole page, as the key range from its first subtrader to its last
            -- (every registered id in that range is on the page, and the page's rows take only their own),
            -- not looked up subtrader by subtrader nor as an array of 51 keys (issue 18: 5% less of the
            -- statement's CPU than the array). The estimate lines likewise: a later page does not walk the
            -- snapshot's lines from its first subtrader.
            x AS (SELECT * FROM klear_subtrader_latest_figures
                   WHERE subtrader_id BETWEEN ${pageRange} AND cycle = (SELECT execution_time FROM latest)),
            g AS (SELECT DISTINCT ON (subtrader_id) subtrader_id, group_id, valid_from FROM klear_subtrader_group_membership
                   WHERE subtrader_id BETWEEN ${pageRange} AND valid_to IS NULL
                   ORDER BY subtrader_id, valid_from DESC, group_id)
       SELECT s.subtrader_id, ${isoTimestampText('s.first_seen_in_klear_at')} AS first_seen_in_klear_at,
              ${isoTimestampText('s.first_seen_in_ledger_at')} AS first_seen_in_ledger_at,
              l.id AS obligation_id, l.ids AS obligation_ids, l.asset_classes, l.execution_time_text AS execution_time, l.pulled_at_text AS obligation_pulled_at,
              x.pnl_centicents::text AS pnl_centicents, x.fees_centicents::text AS fees_centicents, x.total_centicents::text AS total_centicents,
              x.maintenance_margin_centicents::text AS maintenance_margin_centicents,
              x.maintenance_margin_delta_centicents::text AS maintenance_margin_delta_centicents,
              coalesce(x.funding_centicents::text, '0') AS funding_centicents, coalesce(x.funding_payment_count, 0)::int AS funding_payment_count,
              g.group_id AS margin_group_id, ${isoTimestampText('g.valid_from')} AS margin_group_since,
              est_first.pulled_at_text AS estimate_pulled_at, e.total_amount_centicents AS estimate_total_amount_centicents
         FROM page s
         LEFT JOIN x ON x.subtrader_id = s.subtrader_id
         LEFT JOIN g ON g.subtrader_id = s.subtrader_id
         LEFT JOIN klear_estimate_line e ON e.snapshot_id = (SELECT id FROM est) AND e.asset_class = '' AND e.scope = 'subtrader' AND e.key = s.subtrader_id
               AND e.key BETWEEN ${pageRange}
         LEFT JOIN latest l ON s.subtrader_id = (SELECT subtrader_id FROM page_start)
         LEFT JOIN est est_first ON s.subtrader_id = (SELECT subtrader_id FROM page_start)
        ORDER BY s.subtrader_id`,
      params,
    );
    return sharePageConstants(limit.take(rows));
  }

  /**
   * Netted subtrader groups as pulled from Klear, by group id: current members, the membership
   * history (every join and leave, at the pull that saw it), and the group's requirement in the
   * latest cycle that lists it (Klear's rows with its margin_group_id, every asset class).
   */
  async groups(filter: { limit: number; after?: string }): Promise<SubtraderGroupRow[]> {
    return (await this.dataSource.query(
      `WITH g AS (SELECT DISTINCT group_id FROM klear_subtrader_group_membership WHERE ($1::text IS NULL OR group_id > $1) ORDER BY group_id LIMIT $2)
       SELECT g.group_id,
              coalesce((SELECT jsonb_agg(m.subtrader_id ORDER BY m.subtrader_id) FROM klear_subtrader_group_membership m
                         WHERE m.group_id = g.group_id AND m.valid_to IS NULL), '[]') AS members,
              (SELECT jsonb_agg(jsonb_build_object('subtrader_id', m.subtrader_id, 'valid_from', m.valid_from, 'valid_to', m.valid_to) ORDER BY m.valid_from, m.subtrader_id, m.id)
                 FROM klear_subtrader_group_membership m WHERE m.group_id = g.group_id) AS history,
              mm.execution_time, mm.maintenance_margin_centicents
         FROM g
         LEFT JOIN LATERAL (
           SELECT o.execution_time, sum(d.maintenance_margin_centicents)::text AS maintenance_margin_centicents
             FROM klear_margin_detail d JOIN klear_obligation o ON o.id = d.obligation_id
            WHERE d.margin_group_id = g.group_id
              AND o.execution_time = (SELECT max(o2.execution_time) FROM klear_margin_detail d2 JOIN klear_obligation o2 ON o2.id = d2.obligation_id WHERE d2.margin_group_id = g.group_id)
            GROUP BY o.execution_time) mm ON true
        ORDER BY g.group_id`,
      [filter.after ?? null, filter.limit],
    )) as SubtraderGroupRow[];
  }

  /** One subtrader's Klear figures in the latest `limit` cycles (every asset class added up), oldest first; nulls where it had none. */
  cycles(subtraderId: string, limit: number) {
    return this.dataSource.query(
      `WITH cycles AS (SELECT execution_time, array_agg(id ORDER BY id) AS ids, array_agg(DISTINCT asset_class ORDER BY asset_class) AS asset_classes
                         FROM klear_obligation GROUP BY execution_time ORDER BY execution_time DESC LIMIT $2)
       SELECT c.execution_time, c.asset_classes, d.pnl_centicents, d.fees_centicents, m.maintenance_margin_centicents
         FROM cycles c
         LEFT JOIN LATERAL (SELECT sum(pnl_centicents)::text AS pnl_centicents, sum(fees_centicents)::text AS fees_centicents
                              FROM klear_settlement_summary WHERE obligation_id = ANY(c.ids) AND subtrader_id = $1 HAVING count(*) > 0) d ON true
         LEFT JOIN LATERAL (SELECT sum(maintenance_margin_centicents)::text AS maintenance_margin_centicents
                              FROM klear_margin_detail WHERE obligation_id = ANY(c.ids) AND subtrader_id = $1 HAVING count(*) > 0) m ON true
        ORDER BY c.execution_time`,
      [subtraderId, limit],
    ) as Promise<
      Array<{
        execution_time: Date;
        asset_classes: string[];
        pnl_centicents: string | null;
        fees_centicents: string | null;
        maintenance_margin_centicents: string | null;
      }>
    >;
  }
}
