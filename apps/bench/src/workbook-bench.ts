import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import type { DataSource } from 'typeorm';
import { ensureCyclePartitions } from '@app/db';
import { refreshLatestFigures } from '@app/ingestion';
import {
  cycleScope,
  etDateTimeCell,
  SETTLEMENT_DETAIL_COLUMNS,
  settlementDay,
  STREAMING_WRITER_OPTIONS,
  TableSheet,
  WorkbookReadRepository,
  writeSettlementDetailsSheet,
} from '@app/exports';
import type { Measurement } from './results';
import { runStepProcess } from './step-process';

/** What the workbook benchmark needs of the bench world. */
export interface WorkbookBenchContext {
  dataSource: DataSource;
  /** The same database's URL, for the step processes. */
  databaseUrl: string;
  subtraders: number;
  markets: number;
  quick?: boolean;
}

/** A day of its own, far from the simulator's, so the bench never mixes with other data. */
const BENCH_DATE = '2031-03-04';
const BENCH_CYCLE = '2031-03-04T21:00:00.000Z';
const sid = (s: number) => `BS-${String(s).padStart(5, '0')}`;
const mid = (m: number) => `BM-${String(m).padStart(3, '0')}`;
// The same deterministic figures in SQL (seed) and JS (bare writer). 0.5% of subtraders carry a 1-centicent pnl break on market 0.
const pnlOf = (i: number) => ((i * 7919) % 2_000_001) - 1_000_000;
const feesOf = (i: number) => (i * 31) % 5000;
const brokenOf = (s: number, m: number) => (s % 200 === 0 && m === 0 ? 1 : 0);

/**
 * Builds the Settlement details sheet of an N-row day (N = subtraders x markets, Klear details
 * against the ledger's per-market postings) and, in the same run, has bare exceljs stream the same
 * rows with the same columns and formats to a file. Each runs in a Node process of its own
 * (`step-process.ts`: the bench's process holds the simulator's world). Answers both wall times (ratio,
 * target <= 1.3) and the peak RSS of the process that built the sheet (VmHWM over its whole life,
 * start-up included; target < 300 MB).
 */
export async function benchDailyWorkbook(context: WorkbookBenchContext): Promise<Measurement[]> {
  const { dataSource, databaseUrl, subtraders, markets } = context;
  await seedBenchDay(dataSource, subtraders, markets);
  const n = subtraders * markets;
  const ours = join(tmpdir(), `klear-bench-workbook-${process.pid}.xlsx`);
  const bare = join(tmpdir(), `klear-bench-bare-${process.pid}.xlsx`);
  const warmRows = Math.min(20_000, n);
  try {
    const built = await runStepProcess({ kind: 'workbook', databaseUrl, path: ours, expectedRows: n, warmRows, markets });
    const floor = await runStepProcess({ kind: 'workbook-floor', path: bare, rows: n, warmRows, markets });
    return [
      {
        name: `workbook: settlement details sheet, ${n} rows, vs bare exceljs`,
        value: built.seconds,
        unit: 's',
        floor: floor.seconds,
        ratio: built.seconds / floor.seconds,
        target: { on: 'ratio', op: '<=', limit: 1.3 },
      },
      {
        name: `workbook: peak RSS of a process building ${n} rows`,
        value: built.peakRssMb,
        unit: 'MB',
        floor: null,
        ratio: null,
        target: { on: 'value', op: '<', limit: 300 },
      },
    ];
  } finally {
    rmSync(ours, { force: true });
    rmSync(bare, { force: true });
  }
}

/** The product's Settlement details sheet of the bench day, read from `dataSource`, streamed into `path`: the rows written. */
export async function buildSettlementDetailsSheet(dataSource: DataSource, path: string): Promise<number> {
  const read = new WorkbookReadRepository(dataSource);
  const day = settlementDay(BENCH_DATE);
  return read.snapshot(async (r) => {
    const cycles = await r.cyclesOf(day);
    const scope = cycleScope(cycles, await r.latestRuns(cycles.map((c) => c.executionTime)));
    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, ...STREAMING_WRITER_OPTIONS });
    const rows = await writeSettlementDetailsSheet(workbook, r.settlementDetails(scope));
    await workbook.commit();
    return rows;
  });
}

/** The floor: exceljs alone streaming the same cell values, columns, formats, frozen header and filter. */
export async function bareWrite(path: string, rows: number, markets: number): Promise<number> {
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, ...STREAMING_WRITER_OPTIONS });
  const sheet = TableSheet.open(workbook, 'Settlement details', SETTLEMENT_DETAIL_COLUMNS);
  const cycle = etDateTimeCell(new Date(BENCH_CYCLE));
  for (let i = 0; i < rows; i++) {
    const s = Math.floor(i / markets);
    const m = i % markets;
    const pnl = pnlOf(i);
    const fees = feesOf(i);
    const internalPnl = pnl + brokenOf(s, m);
    const difference = pnl - internalPnl;
    sheet.add([
      cycle,
      sid(s),
      mid(m),
      `bd-${i}`,
      pnl / 10000,
      pnl,
      fees / 10000,
      fees,
      (pnl - fees) / 10000,
      pnl - fees,
      internalPnl / 10000,
      internalPnl,
      fees / 10000,
      fees,
      (internalPnl - fees) / 10000,
      internalPnl - fees,
      difference / 10000,
      difference,
      difference === 0 ? 'matched' : 'mismatch',
    ]);
  }
  await sheet.close();
  await workbook.commit();
  return rows;
}

/** Seeds the bench day once per database: one obligation with N details, one trade_settlement entry per subtrader. */
async function seedBenchDay(dataSource: DataSource, subtraders: number, markets: number): Promise<void> {
  await ensureCyclePartitions(dataSource, [BENCH_CYCLE]);
  const obligation = `bench-workbook-${subtraders}x${markets}`;
  const existing = (await dataSource.query(`SELECT 1 FROM klear_obligation WHERE id = $1`, [obligation])) as unknown[];
  if (existing.length) return;
  const n = subtraders * markets;
  await dataSource.transaction(async (m) => {
    await m.query(
      `DELETE FROM klear_settlement_detail WHERE obligation_id IN (SELECT id FROM klear_obligation WHERE execution_time = $1)`,
      [BENCH_CYCLE],
    );
    await m.query(`DELETE FROM klear_obligation WHERE execution_time = $1`, [BENCH_CYCLE]);
    await m.query(
      `INSERT INTO klear_obligation (id, user_id, amount_centicents, fees_centicents, maintenance_margin_centicents, pnl_centicents, execution_time, last_updated_ts,
                                     content_sha256, settlement_detail_count, first_pulled_at, pulled_at, archive_id)
       VALUES ($1, 'bench', 0, 0, 0, 0, $2, $2, 'bench', $3, now(), now(), 0)`,
      [obligation, BENCH_CYCLE, n],
    );
    await m.query(
      `INSERT INTO klear_settlement_detail (obligation_id, id, market_ticker, subtrader_id, pnl_centicents, fees_centicents, total_centicents, cycle)
       SELECT $1, 'bd-' || i, 'BM-' || lpad((i % $3)::text, 3, '0'), 'BS-' || lpad((i / $3)::text, 5, '0'), v.pnl, v.fees, v.pnl - v.fees, $4::timestamptz
         FROM generate_series(0::bigint, $2::bigint - 1) i, LATERAL (SELECT ((i * 7919) % 2000001) - 1000000 AS pnl, (i * 31) % 5000 AS fees) v`,
      [obligation, n, markets, BENCH_CYCLE],
    );
    const ledgered = (await m.query(`SELECT 1 FROM journal_entry WHERE cycle = $1 LIMIT 1`, [BENCH_CYCLE])) as unknown[];
    if (ledgered.length) return;
    await m.query(
      `INSERT INTO subtrader (subtrader_id, first_seen_in_ledger_at) SELECT 'BS-' || lpad(s::text, 5, '0'), now() FROM generate_series(0, $1 - 1) s ON CONFLICT DO NOTHING`,
      [subtraders],
    );
    await m.query(
      `INSERT INTO journal_entry (external_id, entry_type, effective_at, cycle, subtrader_id, content_hash, created_by, posting_count)
       SELECT 'bench-wb-ts-' || s, 'trade_settlement', $1, $1, 'BS-' || lpad(s::text, 5, '0'), md5(s::text), 'bench', 2 * $3::int + 1 FROM generate_series(0, $2 - 1) s`,
      [BENCH_CYCLE, subtraders, markets],
    );
    await m.query(
      `WITH r AS (SELECT i, i / $2 AS s, i % $2 AS mk, ((i * 7919) % 2000001) - 1000000 + CASE WHEN (i / $2) % 200 = 0 AND i % $2 = 0 THEN 1 ELSE 0 END AS pnl, (i * 31) % 5000 AS fees
                    FROM generate_series(0::bigint, $3::bigint - 1) i),
            e AS (SELECT ledger_seq, subtrader_id FROM journal_entry WHERE cycle = $1 AND external_id LIKE 'bench-wb-ts-%')
       INSERT INTO journal_posting (entry_seq, line_no, account, market_ticker, amount_centicents, cycle, subtrader_id, cycle_key)
       SELECT e.ledger_seq, x.line_no, x.account, x.market, x.amount, $1, e.subtrader_id, $1
         FROM (SELECT s, 2 * mk + 1 AS line_no, 'trading_pnl' AS account, 'BM-' || lpad(mk::text, 3, '0') AS market, pnl AS amount FROM r
               UNION ALL SELECT s, 2 * mk + 2, 'trading_fees', 'BM-' || lpad(mk::text, 3, '0'), -fees FROM r
               UNION ALL SELECT s, 2 * $2 + 1, 'klear_settlement', NULL, -sum(pnl - fees) FROM r GROUP BY s) x
         JOIN e ON e.subtrader_id = 'BS-' || lpad(x.s::text, 5, '0')`,
      [BENCH_CYCLE, markets, n],
    );
  });
  // As ingestion leaves them (upsertObligation refreshes them): the latest cycle's figures GET /subtraders reads.
  await refreshLatestFigures(dataSource, null);
  await dataSource.query('ANALYZE klear_settlement_detail, journal_posting, journal_entry, klear_obligation');
}
