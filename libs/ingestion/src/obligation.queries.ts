import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

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
  last_updated_ts: Date;
  settlement_detail_count: number;
  first_pulled_at: Date;
  pulled_at: Date;
  version_count: number;
  /** The buffer movement that settled it (docs/klear-api.md, "Obligations: due and paid"), or null. */
  settled_by: SettlingMovement | null;
}

/** A Klear balance-history entry that settled an obligation, and how it was linked. */
export interface SettlingMovement {
  business_transaction_id: string;
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

/**
 * The Klear balance-history entry that settled obligation `o` (docs/klear-api.md, "Obligations: due
 * and paid"), in this order: the one its receive names (Klear's own link, receipts); a settlement
 * entry (reason settlement_payment or settlement_receipt) of its cycle's window (from its execution
 * time to the next cycle of its asset class) whose delta is its amount or the amount of one of its
 * versions; the window's only settlement entry in its direction (a later fee change alters the
 * amount, not the payment already made). Entries another obligation's receive names never count.
 */
const SETTLED_BY_SQL = `
  WITH candidates AS (
    SELECT h.id, h.balance_delta_centicents AS delta, h.created_ts
      FROM klear_balance_history h
     WHERE h.reason IN ('settlement_payment', 'settlement_receipt') AND h.created_ts >= o.execution_time
       AND h.created_ts < coalesce((SELECT min(n.execution_time) FROM klear_obligation n
                                     WHERE n.asset_class = o.asset_class AND n.execution_time > o.execution_time), 'infinity')
       AND NOT EXISTS (SELECT 1 FROM klear_receive r WHERE r.external_reference = h.business_transaction_id AND r.obligation_id <> o.id))
  SELECT jsonb_build_object('business_transaction_id', h.business_transaction_id, 'created_ts', h.created_ts,
                            'balance_delta_centicents', h.balance_delta_centicents::text, 'reason', h.reason, 'matched_by', m.matched_by)
    FROM (SELECT h.id, 'receive_reference' AS matched_by, 0 AS rank
            FROM klear_receive r JOIN klear_balance_history h ON h.business_transaction_id = r.external_reference
           WHERE r.obligation_id = o.id
          UNION ALL
          SELECT c.id, 'amount', 1 FROM candidates c
           WHERE c.delta = o.amount_centicents OR c.delta IN (SELECT v.amount_centicents FROM klear_obligation_version v WHERE v.obligation_id = o.id)
          UNION ALL
          SELECT min(c.id), 'only_settlement_of_its_cycle', 2 FROM candidates c
           WHERE sign(c.delta) = sign(o.amount_centicents) AND o.amount_centicents <> 0
          HAVING count(*) = 1) m
    JOIN klear_balance_history h ON h.id = m.id
   ORDER BY m.rank, h.created_ts, h.id LIMIT 1`;

const OBLIGATION_COLUMNS = `o.id, o.user_id, o.asset_class, o.amount_centicents, o.fees_centicents, o.maintenance_margin_centicents, o.pnl_centicents,
  o.funding_centicents, o.funding_payment_count, o.completed_lists,
  o.execution_time, o.last_updated_ts, o.settlement_detail_count, o.first_pulled_at, o.pulled_at,
  (SELECT count(*)::int FROM klear_obligation_version v WHERE v.obligation_id = o.id) AS version_count,
  (${SETTLED_BY_SQL}) AS settled_by`;

/** Read side of ingested obligations (money stays decimal strings from PostgreSQL to the API). */
@Injectable()
export class ObligationQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The latest pull of the active obligations: every obligation it listed (one per asset class). */
  async active(): Promise<{ pulledAt: Date; obligations: ObligationRow[] } | null> {
    const [pull] = (await this.dataSource.query(`SELECT pulled_at, archive_id FROM klear_active_obligation_pull ORDER BY pulled_at DESC, id DESC LIMIT 1`)) as Array<{ pulled_at: Date; archive_id: string }>;
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
  list(filter: { from?: string; to?: string; assetClass?: string; limit: number; after?: { executionTime: string; id: string } }): Promise<ObligationRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.assetClass) where.push(`o.asset_class = $${params.push(filter.assetClass)}`);
    if (filter.from) where.push(`o.execution_time >= ($${params.push(filter.from)}::date::timestamp AT TIME ZONE 'America/New_York')`);
    if (filter.to) where.push(`o.execution_time < (($${params.push(filter.to)}::date + 1)::timestamp AT TIME ZONE 'America/New_York')`);
    if (filter.after) where.push(`(o.execution_time, o.id) < ($${params.push(filter.after.executionTime)}::timestamptz, $${params.push(filter.after.id)})`);
    return this.dataSource.query(
      `SELECT ${OBLIGATION_COLUMNS} FROM klear_obligation o ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY o.execution_time DESC, o.id DESC LIMIT $${params.push(filter.limit)}`,
      params,
    ) as Promise<ObligationRow[]>;
  }

  async get(id: string): Promise<ObligationRow | null> {
    const [row] = (await this.dataSource.query(`SELECT ${OBLIGATION_COLUMNS} FROM klear_obligation o WHERE o.id = $1`, [id])) as ObligationRow[];
    return row ?? null;
  }

  receives(id: string) {
    return this.dataSource.query(`SELECT id, type, amount_centicents, external_reference, created_ts FROM klear_receive WHERE obligation_id = $1 ORDER BY created_ts, id`, [id]) as Promise<
      Array<{ id: string; type: string; amount_centicents: string; external_reference: string; created_ts: Date }>
    >;
  }

  marginDetails(id: string) {
    return this.dataSource.query(
      `SELECT id, subtrader_id, maintenance_margin_centicents, maintenance_margin_delta_centicents FROM klear_margin_detail WHERE obligation_id = $1 ORDER BY subtrader_id, id`,
      [id],
    ) as Promise<Array<{ id: string; subtrader_id: string; maintenance_margin_centicents: string; maintenance_margin_delta_centicents: string }>>;
  }

  versions(id: string) {
    return this.dataSource.query(
      `SELECT id, last_updated_ts, content_sha256, amount_centicents, fees_centicents, maintenance_margin_centicents, pnl_centicents, first_pulled_at
         FROM klear_obligation_version WHERE obligation_id = $1 ORDER BY last_updated_ts, id`,
      [id],
    ) as Promise<Array<{ id: string; last_updated_ts: Date; content_sha256: string; amount_centicents: string; fees_centicents: string; maintenance_margin_centicents: string; pnl_centicents: string; first_pulled_at: Date }>>;
  }

  /** Settlement details a page at a time, ordered by (subtrader, id); optionally one subtrader's. */
  details(id: string, filter: { subtrader?: string; limit: number; after?: { subtraderId: string; id: string } }): Promise<SettlementDetailRow[]> {
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
