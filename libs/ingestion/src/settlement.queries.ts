import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export interface EstimateLineRow {
  asset_class: string;
  scope: 'user' | 'subtrader' | 'group';
  key: string;
  variation_margin_centicents: string;
  total_fees_centicents: string;
  maintenance_margin_delta_centicents: string;
  maintenance_margin_required_centicents: string;
  total_amount_centicents: string;
  omitted_subtrader_count: number | null;
  omitted_group_count: number | null;
  /** The asset class's next settlement cycle (its user line only). */
  next_runtime: Date | null;
}

export interface MarginReportRow {
  id: string;
  report_type: string;
  report_date: string;
  created_ts: Date;
  is_end_of_day: boolean;
  pulled_at: Date;
  file_path: string | null;
  file_size: string | null;
  file_sha256: string | null;
  downloaded_at: Date | null;
}

/** Read side of estimates, balances, buffer movements, reports and subtraders. */
@Injectable()
export class SettlementQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async latestEstimate(source: 'settlement_estimate' | 'settlement_estimate_by_asset_class') {
    const [snapshot] = (await this.dataSource.query(
      `SELECT id, pulled_at, settlement_balance_centicents FROM klear_estimate_snapshot WHERE source = $1 ORDER BY pulled_at DESC, id DESC LIMIT 1`,
      [source],
    )) as Array<{ id: string; pulled_at: Date; settlement_balance_centicents: string }>;
    if (!snapshot) return null;
    const lines = (await this.dataSource.query(
      `SELECT asset_class, scope, key, variation_margin_centicents, total_fees_centicents, maintenance_margin_delta_centicents,
              maintenance_margin_required_centicents, total_amount_centicents, omitted_subtrader_count, omitted_group_count, next_runtime
         FROM klear_estimate_line WHERE snapshot_id = $1 ORDER BY asset_class, scope DESC, key`,
      [snapshot.id],
    )) as EstimateLineRow[];
    return { ...snapshot, lines };
  }

  async latestBalance() {
    const [row] = (await this.dataSource.query(
      `SELECT pulled_at, user_id, available_centicents, locked_centicents FROM klear_balance_snapshot ORDER BY pulled_at DESC, id DESC LIMIT 1`,
    )) as Array<{ pulled_at: Date; user_id: string; available_centicents: string; locked_centicents: string | null }>;
    return row ?? null;
  }

  /** Most recent first, like Klear. */
  balanceHistory(limit: number, after?: { createdTs: string; id: string }) {
    const params: unknown[] = [];
    const where = after ? `WHERE (created_ts, id) < ($${params.push(after.createdTs)}::timestamptz, $${params.push(after.id)}::bigint)` : '';
    return this.dataSource.query(
      `SELECT id, business_transaction_id, created_ts, balance_delta_centicents, locked_balance_delta_centicents, reason, first_pulled_at
         FROM klear_balance_history ${where} ORDER BY created_ts DESC, id DESC LIMIT $${params.push(limit)}`,
      params,
    ) as Promise<Array<{ id: string; business_transaction_id: string; created_ts: Date; balance_delta_centicents: string; locked_balance_delta_centicents: string; reason: string; first_pulled_at: Date }>>;
  }

  /**
   * Per settlement day (America/New_York) from `from` to `to`: the buffer at the day's last balance pull
   * (none yet: nulls) and the day's obligations, what the member pays and what it receives.
   */
  bufferByDay(from: string, to: string) {
    return this.dataSource.query(
      `SELECT d::date::text AS date, b.available_centicents::text AS available_centicents, b.locked_centicents::text AS locked_centicents,
              o.payable_centicents, o.receivable_centicents, coalesce(o.cycles, 0)::int AS cycles
         FROM generate_series($1::date, $2::date, interval '1 day') d
         LEFT JOIN LATERAL (SELECT available_centicents, coalesce(locked_centicents, 0) AS locked_centicents FROM klear_balance_snapshot
                             WHERE pulled_at < ((d + interval '1 day')::timestamp AT TIME ZONE 'America/New_York') ORDER BY pulled_at DESC, id DESC LIMIT 1) b ON true
         LEFT JOIN LATERAL (SELECT (-sum(least(amount_centicents, 0)))::text AS payable_centicents, sum(greatest(amount_centicents, 0))::text AS receivable_centicents,
                                   count(DISTINCT execution_time) AS cycles
                              FROM klear_obligation
                             WHERE execution_time >= (d::timestamp AT TIME ZONE 'America/New_York')
                               AND execution_time < ((d + interval '1 day')::timestamp AT TIME ZONE 'America/New_York')) o ON true
        ORDER BY d`,
      [from, to],
    ) as Promise<Array<{ date: string; available_centicents: string | null; locked_centicents: string | null; payable_centicents: string | null; receivable_centicents: string | null; cycles: number }>>;
  }

  /** One subtrader's Klear figures in the latest `limit` cycles (every asset class added up), oldest first; nulls where it had none. */
  subtraderCycles(subtraderId: string, limit: number) {
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
    ) as Promise<Array<{ execution_time: Date; asset_classes: string[]; pnl_centicents: string | null; fees_centicents: string | null; maintenance_margin_centicents: string | null }>>;
  }

  reports(limit: number, after?: { reportDate: string; id: string }): Promise<MarginReportRow[]> {
    const params: unknown[] = [];
    const where = after ? `WHERE (report_date, id) < ($${params.push(after.reportDate)}::date, $${params.push(after.id)}::bigint)` : '';
    return this.dataSource.query(
      `SELECT id, report_type, report_date::text AS report_date, created_ts, is_end_of_day, pulled_at, file_path, file_size, file_sha256, downloaded_at
         FROM klear_margin_report ${where} ORDER BY report_date DESC, id DESC LIMIT $${params.push(limit)}`,
      params,
    ) as Promise<MarginReportRow[]>;
  }

  async report(id: string): Promise<MarginReportRow | null> {
    if (!/^[0-9]{1,18}$/.test(id)) return null;
    const [row] = (await this.dataSource.query(
      `SELECT id, report_type, report_date::text AS report_date, created_ts, is_end_of_day, pulled_at, file_path, file_size, file_sha256, downloaded_at
         FROM klear_margin_report WHERE id = $1`,
      [id],
    )) as MarginReportRow[];
    return row ?? null;
  }

  /**
   * Subtraders with their latest Klear figures: totals of the latest cycle's obligations (every asset
   * class; from the per-subtrader summary the details' triggers maintain), their maintenance margin
   * and funding payments, the netted group the subtrader belongs to now (whose margin is the group's),
   * and the latest estimate line.
   */
  subtraders(filter: { id?: string; limit: number; after?: string }) {
    const params: unknown[] = [];
    const where: string[] = [];
    if (filter.id !== undefined) where.push(`s.subtrader_id = $${params.push(filter.id)}`);
    if (filter.after !== undefined) where.push(`s.subtrader_id > $${params.push(filter.after)}`);
    // The page of subtraders is chosen first (keyset, by id) and only its rows are looked up: whatever
    // plan the statistics of a fresh or freshly grown database suggest, the latest figures are read
    // for `limit` subtraders, never for the whole registry before sorting.
    const limit = `$${params.push(filter.limit)}`;
    return this.dataSource.query(
      `WITH page AS MATERIALIZED (SELECT s.subtrader_id, s.first_seen_in_klear_at, s.first_seen_in_ledger_at FROM subtrader s
                                   ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY s.subtrader_id LIMIT ${limit}),
            latest AS (SELECT min(id) AS id, array_agg(id ORDER BY asset_class, id) AS ids, array_agg(DISTINCT asset_class ORDER BY asset_class) AS asset_classes,
                              max(execution_time) AS execution_time, max(pulled_at) AS pulled_at
                         FROM klear_obligation WHERE execution_time = (SELECT max(execution_time) FROM klear_obligation) HAVING count(*) > 0),
            est AS (SELECT id, pulled_at FROM klear_estimate_snapshot WHERE source = 'settlement_estimate_by_asset_class' ORDER BY pulled_at DESC, id DESC LIMIT 1)
       SELECT s.subtrader_id, s.first_seen_in_klear_at, s.first_seen_in_ledger_at,
              (SELECT id FROM latest) AS obligation_id, (SELECT ids FROM latest) AS obligation_ids, (SELECT asset_classes FROM latest) AS asset_classes,
              (SELECT execution_time FROM latest) AS execution_time, (SELECT pulled_at FROM latest) AS obligation_pulled_at,
              d.pnl_centicents::text AS pnl_centicents, d.fees_centicents::text AS fees_centicents, d.total_centicents::text AS total_centicents,
              m.maintenance_margin_centicents, m.maintenance_margin_delta_centicents,
              f.funding_centicents, f.funding_payment_count, g.group_id AS margin_group_id, g.valid_from AS margin_group_since,
              (SELECT pulled_at FROM est) AS estimate_pulled_at, e.total_amount_centicents AS estimate_total_amount_centicents
         FROM page s
         LEFT JOIN LATERAL (SELECT sum(pnl_centicents) AS pnl_centicents, sum(fees_centicents) AS fees_centicents, sum(total_centicents) AS total_centicents
                              FROM klear_settlement_summary WHERE obligation_id = ANY((SELECT ids FROM latest)::text[]) AND subtrader_id = s.subtrader_id HAVING count(*) > 0) d ON true
         LEFT JOIN LATERAL (SELECT sum(maintenance_margin_centicents)::text AS maintenance_margin_centicents, sum(maintenance_margin_delta_centicents)::text AS maintenance_margin_delta_centicents
                              FROM klear_margin_detail WHERE obligation_id = ANY((SELECT ids FROM latest)::text[]) AND subtrader_id = s.subtrader_id) m ON true
         LEFT JOIN LATERAL (SELECT coalesce(sum(funding_amount_centicents), 0)::text AS funding_centicents, count(*)::int AS funding_payment_count
                              FROM klear_funding_payment WHERE obligation_id = ANY((SELECT ids FROM latest)::text[]) AND subtrader_id = s.subtrader_id) f ON true
         LEFT JOIN LATERAL (SELECT group_id, valid_from FROM klear_subtrader_group_membership
                             WHERE subtrader_id = s.subtrader_id AND valid_to IS NULL ORDER BY valid_from DESC, group_id LIMIT 1) g ON true
         LEFT JOIN klear_estimate_line e ON e.snapshot_id = (SELECT id FROM est) AND e.asset_class = '' AND e.scope = 'subtrader' AND e.key = s.subtrader_id
        ORDER BY s.subtrader_id`,
      params,
    ) as Promise<Array<Record<string, string | Date | null>>>;
  }

  /**
   * Netted subtrader groups as pulled from Klear, by group id: current members, the membership
   * history (every join and leave, at the pull that saw it), and the group's requirement in the
   * latest cycle that lists it (Klear's rows with its margin_group_id, every asset class).
   */
  async subtraderGroups(filter: { limit: number; after?: string }): Promise<SubtraderGroupRow[]> {
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
}

export interface SubtraderGroupRow {
  group_id: string;
  members: string[];
  history: Array<{ subtrader_id: string; valid_from: string; valid_to: string | null }>;
  execution_time: Date | null;
  maintenance_margin_centicents: string | null;
}
