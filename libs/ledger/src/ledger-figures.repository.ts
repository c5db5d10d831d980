import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { parseCenticents } from '@app/money';

/**
 * Internal figures per (cycle, subtrader, market), as docs/ledger-and-breaks.md defines them:
 * pnl = sum(trading_pnl), fees = -sum(trading_fees), total = pnl - fees. Reversals and adjustments
 * count like any posting. Parameters: $1 cycle (timestamptz), $2 ledger high-water mark (bigint).
 * A single-table GROUP BY over the (cycle, subtrader_id, account, market_ticker) index; reconciliation
 * may embed it as a CTE.
 */
export const LEDGER_MARKET_FIGURES_SQL = `
  SELECT p.subtrader_id,
         p.market_ticker,
         coalesce(sum(p.amount_centicents) FILTER (WHERE p.account = 'trading_pnl'), 0) AS pnl_centicents,
         -coalesce(sum(p.amount_centicents) FILTER (WHERE p.account = 'trading_fees'), 0) AS fees_centicents,
         coalesce(sum(p.amount_centicents), 0) AS total_centicents,
         count(*) AS posting_count
    FROM journal_posting p
   WHERE p.cycle = $1 AND p.account IN ('trading_pnl', 'trading_fees') AND p.entry_seq <= $2
   GROUP BY p.subtrader_id, p.market_ticker`;

/**
 * Per (cycle, subtrader): the market figures rolled up, maintenance_margin = sum(maintenance_margin),
 * and how many trade_settlement entries are booked and not reversed (more than one is the
 * `duplicate` break reason). Same parameters as LEDGER_MARKET_FIGURES_SQL. total = pnl - fees, the
 * sum of both trading accounts (a fee is posted negative).
 */
export const LEDGER_SUBTRADER_FIGURES_SQL = `
  WITH sums AS (
    SELECT p.subtrader_id,
           coalesce(sum(p.amount_centicents) FILTER (WHERE p.account = 'trading_pnl'), 0) AS pnl_centicents,
           -coalesce(sum(p.amount_centicents) FILTER (WHERE p.account = 'trading_fees'), 0) AS fees_centicents,
           coalesce(sum(p.amount_centicents) FILTER (WHERE p.account IN ('trading_pnl', 'trading_fees')), 0) AS total_centicents,
           coalesce(sum(p.amount_centicents) FILTER (WHERE p.account = 'maintenance_margin'), 0) AS maintenance_margin_centicents,
           bool_or(p.account = 'maintenance_margin') AS has_margin
      FROM journal_posting p
     WHERE p.cycle = $1 AND p.subtrader_id IS NOT NULL AND p.entry_seq <= $2
     GROUP BY p.subtrader_id),
  settlements AS (
    SELECT e.subtrader_id, count(*) AS open_settlement_entries
      FROM journal_entry e
     WHERE e.cycle = $1 AND e.entry_type = 'trade_settlement' AND e.ledger_seq <= $2
       AND NOT EXISTS (SELECT 1 FROM journal_entry r WHERE r.reverses_external_id = e.external_id AND r.ledger_seq <= $2)
     GROUP BY e.subtrader_id)
  SELECT s.subtrader_id, s.pnl_centicents, s.fees_centicents, s.total_centicents, s.maintenance_margin_centicents, s.has_margin,
         coalesce(t.open_settlement_entries, 0) AS open_settlement_entries
    FROM sums s LEFT JOIN settlements t ON t.subtrader_id = s.subtrader_id`;

export interface LedgerMarketFigure {
  subtraderId: string;
  marketTicker: string;
  pnlCenticents: bigint;
  feesCenticents: bigint;
  totalCenticents: bigint;
  postingCount: number;
}

export interface LedgerSubtraderFigure {
  subtraderId: string;
  pnlCenticents: bigint;
  feesCenticents: bigint;
  totalCenticents: bigint;
  maintenanceMarginCenticents: bigint;
  /** False when the ledger books no margin requirement for this subtrader and cycle. */
  hasMaintenanceMargin: boolean;
  openSettlementEntries: number;
}

const money = (v: string) => parseCenticents(v);

@Injectable()
export class LedgerFiguresRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async marketFigures(cycle: string, highWaterMark: string): Promise<LedgerMarketFigure[]> {
    const rows = (await this.dataSource.query(
      `SELECT subtrader_id, market_ticker, pnl_centicents::text, fees_centicents::text, total_centicents::text, posting_count::int
         FROM (${LEDGER_MARKET_FIGURES_SQL}) f ORDER BY subtrader_id, market_ticker`,
      [cycle, highWaterMark],
    )) as Array<Record<string, string>>;
    return rows.map((r) => ({
      subtraderId: r.subtrader_id,
      marketTicker: r.market_ticker,
      pnlCenticents: money(r.pnl_centicents),
      feesCenticents: money(r.fees_centicents),
      totalCenticents: money(r.total_centicents),
      postingCount: Number(r.posting_count),
    }));
  }

  async subtraderFigures(cycle: string, highWaterMark: string): Promise<LedgerSubtraderFigure[]> {
    const rows = (await this.dataSource.query(
      `SELECT subtrader_id, pnl_centicents::text, fees_centicents::text, total_centicents::text, maintenance_margin_centicents::text,
              has_margin, open_settlement_entries::int
         FROM (${LEDGER_SUBTRADER_FIGURES_SQL}) f ORDER BY subtrader_id`,
      [cycle, highWaterMark],
    )) as Array<Record<string, string | boolean | number>>;
    return rows.map((r) => ({
      subtraderId: r.subtrader_id as string,
      pnlCenticents: money(r.pnl_centicents as string),
      feesCenticents: money(r.fees_centicents as string),
      totalCenticents: money(r.total_centicents as string),
      maintenanceMarginCenticents: money(r.maintenance_margin_centicents as string),
      hasMaintenanceMargin: r.has_margin === true,
      openSettlementEntries: Number(r.open_settlement_entries),
    }));
  }

  /** Balance of every account (sum of its postings) as of a high-water mark. */
  async accountBalances(highWaterMark: string): Promise<Map<string, bigint>> {
    const rows = (await this.dataSource.query(
      `SELECT account, sum(amount_centicents)::text AS balance FROM journal_posting WHERE entry_seq <= $1 GROUP BY account`,
      [highWaterMark],
    )) as Array<{ account: string; balance: string }>;
    return new Map(rows.map((r) => [r.account, money(r.balance)]));
  }
}
