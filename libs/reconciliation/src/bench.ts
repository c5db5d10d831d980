import { AuditService } from '@app/audit';
import { systemClock } from '@app/clock';
import type { DataSource } from 'typeorm';
import { ReconciliationRunRepository } from './reconciliation-run.repository';
import type { ReconSettings } from './recon-inputs';

export interface BenchShape {
  subtraders: number;
  markets: number;
  /** Share of (subtrader) groups with one broken market, e.g. 0.005. */
  brokenShare: number;
  cycle: Date;
}

export interface ReconciliationBenchResult {
  detailRows: number;
  ledgerPostings: number;
  loadMs: number;
  floorMs: number;
  floorMismatchingGroups: number;
  marketFloorMs: number;
  marketFloorMismatches: number;
  runMs: number;
  runBreaks: number;
  ratio: number;
}

/**
 * The floor of stack-notes.md: per-(subtrader, cycle) sums of both sides, FULL OUTER JOIN,
 * mismatching groups only. $1 cycle, $2 obligation id.
 */
export const RECONCILIATION_FLOOR_SQL = `
  WITH k AS (SELECT subtrader_id, sum(pnl_centicents - fees_centicents) AS total FROM klear_settlement_detail WHERE obligation_id = $2 GROUP BY subtrader_id),
       i AS (SELECT subtrader_id, sum(amount_centicents) AS total FROM journal_posting
              WHERE cycle = $1 AND account IN ('trading_pnl', 'trading_fees') GROUP BY subtrader_id)
  SELECT coalesce(k.subtrader_id, i.subtrader_id) AS subtrader_id, k.total::text AS klear_total, i.total::text AS internal_total
    FROM k FULL OUTER JOIN i ON i.subtrader_id = k.subtrader_id
   WHERE k.total IS DISTINCT FROM i.total`;

/**
 * A second reference: the same bare join market by market, per (subtrader, market), comparing PnL
 * and fees over every row (what a run without the maintained summaries would have to do).
 * $1 cycle, $2 obligation id.
 */
export const RECONCILIATION_MARKET_FLOOR_SQL = `
  WITH k AS (SELECT subtrader_id, market_ticker, sum(pnl_centicents) AS pnl, sum(fees_centicents) AS fees
               FROM klear_settlement_detail WHERE obligation_id = $2 GROUP BY subtrader_id, market_ticker),
       i AS (SELECT subtrader_id, market_ticker,
                    coalesce(sum(amount_centicents) FILTER (WHERE account = 'trading_pnl'), 0) AS pnl,
                    -coalesce(sum(amount_centicents) FILTER (WHERE account = 'trading_fees'), 0) AS fees
               FROM journal_posting WHERE cycle = $1 AND account IN ('trading_pnl', 'trading_fees') GROUP BY subtrader_id, market_ticker)
  SELECT coalesce(k.subtrader_id, i.subtrader_id) AS subtrader_id, coalesce(k.market_ticker, i.market_ticker) AS market_ticker
    FROM k FULL OUTER JOIN i ON i.subtrader_id = k.subtrader_id AND i.market_ticker = k.market_ticker
   WHERE k.pnl IS DISTINCT FROM i.pnl OR k.fees IS DISTINCT FROM i.fees`;

/**
 * Loads one cycle of `subtraders x markets` Klear details and as many ledger PnL postings (one
 * balanced trade_settlement entry per subtrader), with one market off by one centicent in
 * `brokenShare` of the subtraders. Set-based, in one transaction (the ledger's commit trigger
 * checks every entry balances).
 */
export async function loadBenchCycle(dataSource: DataSource, shape: BenchShape): Promise<{ obligationId: string; loadMs: number }> {
  const obligationId = `bench-${shape.cycle.toISOString()}`;
  const every = Math.max(1, Math.round(1 / shape.brokenShare));
  const started = performance.now();
  await dataSource.transaction(async (tx) => {
    const params = [shape.cycle, obligationId, shape.subtraders, shape.markets];
    await tx.query(
      `INSERT INTO klear_obligation (id, user_id, amount_centicents, fees_centicents, maintenance_margin_centicents, pnl_centicents, execution_time,
         last_updated_ts, content_sha256, settlement_detail_count, first_pulled_at, pulled_at, archive_id)
       SELECT $2, 'bench', 0, 0, 0, 0, $1::timestamptz, $1::timestamptz, 'bench', $3::int * $4::int, now(), now(), 0`,
      params,
    );
    await tx.query(
      `INSERT INTO subtrader (subtrader_id, first_seen_in_klear_at, first_seen_in_ledger_at)
       SELECT 'B' || lpad(s::text, 6, '0'), now(), now() FROM generate_series(1, $1::int) s ON CONFLICT DO NOTHING`,
      [shape.subtraders],
    );
    await tx.query(
      `INSERT INTO klear_settlement_detail (obligation_id, id, market_ticker, subtrader_id, pnl_centicents, fees_centicents, total_centicents)
       SELECT $2, s || '-' || m, 'M' || lpad(m::text, 4, '0'), 'B' || lpad(s::text, 6, '0'), (s * 7919 + m * 104729) % 2000003 - 1000000, 0,
              (s * 7919 + m * 104729) % 2000003 - 1000000
         FROM generate_series(1, $3::int) s, generate_series(1, $4::int) m WHERE $1::timestamptz IS NOT NULL`,
      params,
    );
    // Klear's own totals agree with its details (no klear_consistency break in the bench).
    await tx.query(
      `UPDATE klear_obligation o SET pnl_centicents = d.pnl, amount_centicents = d.pnl
         FROM (SELECT sum(pnl_centicents) AS pnl FROM klear_settlement_detail WHERE obligation_id = $1) d WHERE o.id = $1`,
      [obligationId],
    );
    await tx.query(
      `INSERT INTO journal_entry (external_id, entry_type, effective_at, cycle, subtrader_id, content_hash, created_by)
       SELECT 'bench/' || $2 || '/' || s, 'trade_settlement', $1::timestamptz, $1::timestamptz, 'B' || lpad(s::text, 6, '0'), 'bench', 'bench'
         FROM generate_series(1, $3::int) s WHERE $4::int > 0`,
      params,
    );
    await tx.query(
      `INSERT INTO journal_posting (entry_seq, line_no, account, market_ticker, amount_centicents, cycle, subtrader_id)
       SELECT e.ledger_seq, m, 'trading_pnl', 'M' || lpad(m::text, 4, '0'),
              (s * 7919 + m * 104729) % 2000003 - 1000000 + CASE WHEN s % $5::int = 0 AND m = 1 THEN 1 ELSE 0 END, $1::timestamptz, e.subtrader_id
         FROM generate_series(1, $3::int) s JOIN journal_entry e ON e.external_id = 'bench/' || $2 || '/' || s, generate_series(1, $4::int) m
       UNION ALL
       SELECT e.ledger_seq, $4::int + 1, 'klear_settlement', NULL, -sum((s * 7919 + m * 104729) % 2000003 - 1000000 + CASE WHEN s % $5::int = 0 AND m = 1 THEN 1 ELSE 0 END), $1::timestamptz, e.subtrader_id
         FROM generate_series(1, $3::int) s JOIN journal_entry e ON e.external_id = 'bench/' || $2 || '/' || s, generate_series(1, $4::int) m
        GROUP BY e.ledger_seq, e.subtrader_id`,
      [...params, every],
    );
  });
  await dataSource.query('ANALYZE klear_settlement_detail; ANALYZE journal_posting; ANALYZE journal_entry');
  return { obligationId, loadMs: performance.now() - started };
}

/** Times the bare SQL floor, then one full reconciliation run of the cycle, on warm caches. */
export async function benchReconciliationRun(dataSource: DataSource, shape: BenchShape, settings: ReconSettings): Promise<ReconciliationBenchResult> {
  const { obligationId, loadMs } = await loadBenchCycle(dataSource, shape);
  await dataSource.query(RECONCILIATION_FLOOR_SQL, [shape.cycle, obligationId]); // warm-up
  let started = performance.now();
  const mismatching = (await dataSource.query(RECONCILIATION_FLOOR_SQL, [shape.cycle, obligationId])) as unknown[];
  const floorMs = performance.now() - started;
  await dataSource.query(RECONCILIATION_MARKET_FLOOR_SQL, [shape.cycle, obligationId]); // warm-up
  started = performance.now();
  const marketMismatches = (await dataSource.query(RECONCILIATION_MARKET_FLOOR_SQL, [shape.cycle, obligationId])) as unknown[];
  const marketFloorMs = performance.now() - started;
  const runs = new ReconciliationRunRepository(dataSource, new AuditService(dataSource, null, systemClock), systemClock);
  started = performance.now();
  const outcome = await runs.run({ scope: 'cycle', cycle: shape.cycle, actor: 'bench', settings }, () => new Error('bench cycle missing'));
  const runMs = performance.now() - started;
  return {
    detailRows: shape.subtraders * shape.markets,
    ledgerPostings: shape.subtraders * shape.markets,
    loadMs,
    floorMs,
    floorMismatchingGroups: mismatching.length,
    marketFloorMs,
    marketFloorMismatches: marketMismatches.length,
    runMs,
    runBreaks: outcome.breakCount,
    ratio: runMs / floorMs,
  };
}

/**
 * The `npm run bench` entry point (apps/bench calls `runBench` of each capability): one cycle of
 * `subtraders x markets` with 0.5% of subtraders broken, the run against the bare SQL floor.
 */
export async function runBench(context: { dataSource: DataSource; subtraders: number; markets: number }): Promise<
  Array<{ name: string; value: number; unit: string; floor: number | null; ratio: number | null; target: { on: 'ratio' | 'value'; op: '<=' | '<' | '>=' | '>'; limit: number } }>
> {
  const shape: BenchShape = { subtraders: context.subtraders, markets: context.markets, brokenShare: 0.005, cycle: new Date('2031-06-10T21:00:00Z') };
  const zero = { settlementDetails: 0n, maintenanceMargin: 0n, funding: 0n, klearConsistency: 0n, settlementBuffer: 0n, projected: 0n };
  const result = await benchReconciliationRun(context.dataSource, shape, { tolerances: zero, bufferMatchWindowHours: 24 });
  return [
    {
      name: `reconciliation run, ${result.detailRows} detail rows vs ${result.ledgerPostings} postings, vs bare SQL join`,
      value: result.runMs / 1000,
      unit: 's',
      floor: result.floorMs / 1000,
      ratio: result.ratio,
      target: { on: 'ratio', op: '<=', limit: 1.5 },
    },
    {
      name: `reconciliation run vs bare per-(subtrader, market) join over every row`,
      value: result.runMs / 1000,
      unit: 's',
      floor: result.marketFloorMs / 1000,
      ratio: result.runMs / result.marketFloorMs,
      target: { on: 'ratio', op: '<=', limit: 1.5 },
    },
  ];
}
