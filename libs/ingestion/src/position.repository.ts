import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { GuarantyFundBalanceResponse, LargeTraderPositionsResponse } from '@app/klear-contract';
import { DataSource } from 'typeorm';
import { bigints, type SqlTransaction } from './ingestion-transaction.repository';

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

export async function insertGuarantyFundSnapshot(
  tx: SqlTransaction,
  answer: GuarantyFundBalanceResponse,
  archiveId: string,
  pulledAt: Date,
): Promise<number> {
  await tx.query(
    `INSERT INTO klear_guaranty_fund_snapshot (pulled_at, user_id, amount_centicents, updated_ts, archive_id) VALUES ($1, $2, $3, $4, $5)`,
    [pulledAt, answer.user_id, answer.amount_centicents.toString(), new Date(answer.updated_ts), archiveId],
  );
  return 1;
}

export async function insertLargeTraderSnapshot(
  tx: SqlTransaction,
  answer: LargeTraderPositionsResponse,
  archiveId: string,
  pulledAt: Date,
): Promise<number> {
  const [snapshot] = await tx.query<{ id: string }>(
    `INSERT INTO klear_large_trader_snapshot (pulled_at, user_id, report_date, archive_id) VALUES ($1, $2, $3, $4) RETURNING id`,
    [pulledAt, answer.user_id, answer.report_date, archiveId],
  );
  const positions = new Map(answer.positions.map((p) => [p.market_ticker, p.position]));
  if (positions.size) {
    await tx.query(
      `INSERT INTO klear_large_trader_position (snapshot_id, market_ticker, position) SELECT $1, * FROM unnest($2::text[], $3::bigint[])`,
      [snapshot.id, [...positions.keys()], bigints([...positions.values()])],
    );
  }
  return 1 + positions.size;
}

/** The guaranty fund and large-trader snapshots as the API and the jobs read them (quantities and money stay decimal strings). */
@Injectable()
export class PositionRepository {
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
    const rows = (await this.dataSource.query(
      `SELECT DISTINCT report_date::text AS d FROM klear_large_trader_snapshot ORDER BY d DESC`,
    )) as Array<{ d: string }>;
    return rows.map((r) => r.d);
  }
}
