import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

export interface GuarantyFundRow {
  id: string;
  pulled_at: Date;
  user_id: string;
  amount_centicents: string;
  updated_ts: Date;
}

export interface LargeTraderReport {
  id: string;
  pulled_at: Date;
  user_id: string;
  report_date: string;
  /** Signed contract counts (not money), largest absolute position first (numerically), then ticker. */
  positions: Array<{ market_ticker: string; position: string }>;
}

/** Read side of the guaranty fund and large-trader snapshots (quantities and money stay decimal strings). */
@Injectable()
export class PositionQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Guaranty fund snapshots, newest pull first; `before` is the previous page's last id. */
  guarantyFund(limit: number, beforeId?: string): Promise<GuarantyFundRow[]> {
    return this.dataSource.query(
      `SELECT g.id::text AS id, g.pulled_at, g.user_id, g.amount_centicents::text AS amount_centicents, g.updated_ts
         FROM klear_guaranty_fund_snapshot g WHERE ($1::bigint IS NULL OR g.id < $1::bigint)
        ORDER BY g.id DESC LIMIT $2`,
      [beforeId ?? null, limit],
    );
  }

  /** The latest pull of one settlement day's report (of the newest day when `reportDate` is not given). */
  async largeTraderReport(reportDate?: string): Promise<LargeTraderReport | null> {
    const [snapshot] = (await this.dataSource.query(
      `SELECT s.id::text AS id, s.pulled_at, s.user_id, s.report_date::text AS report_date FROM klear_large_trader_snapshot s
        WHERE ($1::date IS NULL OR s.report_date = $1::date) ORDER BY s.report_date DESC, s.pulled_at DESC, s.id DESC LIMIT 1`,
      [reportDate ?? null],
    )) as Array<Omit<LargeTraderReport, 'positions'>>;
    if (!snapshot) return null;
    const positions = (await this.dataSource.query(
      `SELECT p.market_ticker, p.position::text AS position FROM klear_large_trader_position p WHERE p.snapshot_id = $1
        ORDER BY abs(p.position) DESC, p.market_ticker COLLATE "C"`,
      [snapshot.id],
    )) as LargeTraderReport['positions'];
    return { ...snapshot, positions };
  }

  /** The settlement days that have a large-trader report, newest first. */
  async largeTraderDates(): Promise<string[]> {
    const rows = (await this.dataSource.query(`SELECT DISTINCT report_date::text AS d FROM klear_large_trader_snapshot ORDER BY d DESC`)) as Array<{ d: string }>;
    return rows.map((r) => r.d);
  }
}
