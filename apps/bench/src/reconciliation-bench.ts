import { benchKeyring } from './bench-key';
import { AuditService } from '@app/audit';
import { systemClock } from '@app/clock';
import type { DataSource } from 'typeorm';
import { ensureCyclePartitions } from '@app/db';
import { refreshLatestFigures } from '@app/ingestion';
import { ReconciliationRunRepository, type ReconSettings } from '@app/reconciliation';
import type { Measurement } from './results';

export interface BenchShape {
  subtraders: number;
  markets: number;
  /** Share of (subtrader) groups with one broken market, e.g. 0.005. */
  brokenShare: number;
  cycle: Date;
}

/** What the funding and margin checks read beside the settlement details (the live API's world). */
export interface BenchExtras {
  /** Klear funding payments (three funding times per funded (subtrader, market)). */
  fundingPayments: number;
  /** Ledger funding postings (one per funded (subtrader, market)). */
  fundingPostings: number;
  /** Netted subtrader groups of four (a tenth of the subtraders), one Klear margin row each. */
  groups: number;
  /** Klear margin rows: one per ungrouped subtrader, one per group. */
  marginRows: number;
}

export interface ReconciliationBenchResult {
  extras: BenchExtras;
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
 * The reconciliation floor (bench/README.md, where its reference timings are): per-(subtrader,
 * cycle) sums of both sides, FULL OUTER JOIN, mismatching groups only. $1 cycle, $2 obligation id.
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
export async function loadBenchCycle(
  dataSource: DataSource,
  shape: BenchShape,
): Promise<{ obligationId: string; loadMs: number; extras: BenchExtras }> {
  await ensureCyclePartitions(dataSource, [shape.cycle]);
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
      `INSERT INTO klear_settlement_detail (obligation_id, id, market_ticker, subtrader_id, pnl_centicents, fees_centicents, total_centicents, cycle)
       SELECT $2, s || '-' || m, 'M' || lpad(m::text, 4, '0'), 'B' || lpad(s::text, 6, '0'), (s * 7919 + m * 104729) % 2000003 - 1000000, 0,
              (s * 7919 + m * 104729) % 2000003 - 1000000, $1::timestamptz
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
      `INSERT INTO journal_entry (external_id, entry_type, effective_at, cycle, subtrader_id, content_hash, created_by, posting_count)
       SELECT 'bench/' || $2 || '/' || s, 'trade_settlement', $1::timestamptz, $1::timestamptz, 'B' || lpad(s::text, 6, '0'), 'bench', 'bench', $4::int + 1
         FROM generate_series(1, $3::int) s WHERE $4::int > 0`,
      params,
    );
    await tx.query(
      `INSERT INTO journal_posting (entry_seq, line_no, account, market_ticker, amount_centicents, cycle, subtrader_id, cycle_key)
       SELECT e.ledger_seq, m, 'trading_pnl', 'M' || lpad(m::text, 4, '0'),
              (s * 7919 + m * 104729) % 2000003 - 1000000 + CASE WHEN s % $5::int = 0 AND m = 1 THEN 1 ELSE 0 END, $1::timestamptz, e.subtrader_id, $1::timestamptz
         FROM generate_series(1, $3::int) s JOIN journal_entry e ON e.external_id = 'bench/' || $2 || '/' || s, generate_series(1, $4::int) m
       UNION ALL
       SELECT e.ledger_seq, $4::int + 1, 'klear_settlement', NULL, -sum((s * 7919 + m * 104729) % 2000003 - 1000000 + CASE WHEN s % $5::int = 0 AND m = 1 THEN 1 ELSE 0 END), $1::timestamptz, e.subtrader_id, $1::timestamptz
         FROM generate_series(1, $3::int) s JOIN journal_entry e ON e.external_id = 'bench/' || $2 || '/' || s, generate_series(1, $4::int) m
        GROUP BY e.ledger_seq, e.subtrader_id`,
      [...params, every],
    );
  });
  const extras = await loadFundingAndGroups(dataSource, shape, obligationId);
  // GET /subtraders reads the latest cycle's figures as ingestion leaves them (upsertObligation refreshes them).
  await refreshLatestFigures(dataSource, null);
  await dataSource.query(
    'ANALYZE klear_settlement_detail; ANALYZE journal_posting; ANALYZE journal_entry; ANALYZE klear_funding_payment; ANALYZE klear_margin_detail; ANALYZE klear_subtrader_group_membership',
  );
  return { obligationId, loadMs: performance.now() - started, extras };
}

/**
 * The live API's world beside the details: funding on a tenth of the (subtrader, market) cells,
 * three funding times each, booked by one funding_payment entry per subtrader; netted groups of
 * four over a tenth of the subtraders (one Klear margin row per group, the members' requirements
 * booked one by one, membership valid from the day before); a margin row per other subtrader. Both
 * sides agree: the extra checks find nothing, they only cost their reading.
 */
async function loadFundingAndGroups(dataSource: DataSource, shape: BenchShape, obligationId: string): Promise<BenchExtras> {
  const grouped = Math.floor(shape.subtraders / 40) * 4;
  const params = [shape.cycle, obligationId, shape.subtraders, shape.markets];
  const funded = `(s + m) % 10 = 0`;
  const fundingAmount = `((s * 31 + m * 17 + k * 7) % 2001 - 1000)`;
  const requirement = `((s * 13) % 100000)`;
  const subtrader = `'B' || lpad(s::text, 6, '0')`;
  await dataSource.transaction(async (tx) => {
    /** One journal entry `<prefix>/<obligation>/<n>` per subtrader n (none when there are no markets), of `postings` postings. */
    const entryPerSubtrader = (prefix: string, entryType: string, postings: string) =>
      tx.query(
        `INSERT INTO journal_entry (external_id, entry_type, effective_at, cycle, subtrader_id, content_hash, created_by, posting_count)
         SELECT '${prefix}/' || $2 || '/' || s, '${entryType}', $1::timestamptz, $1::timestamptz, ${subtrader}, 'bench', 'bench', ${postings}
           FROM generate_series(1, $3::int) s WHERE $4::int > 0`,
        params,
      );
    await tx.query(
      `INSERT INTO klear_funding_payment (obligation_id, id, market_ticker, subtrader_id, funding_time, position_quantity_fp, notional_value_centicents, funding_amount_centicents)
       SELECT $2, 'f' || s || '-' || m || '-' || k, 'M' || lpad(m::text, 4, '0'), ${subtrader}, $1::timestamptz - make_interval(hours => 8 * k), 1, 0, ${fundingAmount}
         FROM generate_series(1, $3::int) s, generate_series(1, $4::int) m, generate_series(0, 2) k WHERE ${funded}`,
      params,
    );
    // A funded cell a posting, and the settlement leg.
    await entryPerSubtrader('bench-f', 'funding_payment', `(SELECT count(*) FROM generate_series(1, $4::int) m WHERE ${funded})::int + 1`);
    await tx.query(
      `WITH cell AS (SELECT s, m, sum(${fundingAmount}) AS amount FROM generate_series(1, $3::int) s, generate_series(1, $4::int) m, generate_series(0, 2) k
                      WHERE ${funded} GROUP BY s, m)
       INSERT INTO journal_posting (entry_seq, line_no, account, market_ticker, amount_centicents, cycle, subtrader_id, cycle_key)
       SELECT e.ledger_seq, row_number() OVER (PARTITION BY c.s ORDER BY c.m), 'funding', 'M' || lpad(c.m::text, 4, '0'), c.amount, $1::timestamptz, e.subtrader_id, $1::timestamptz
         FROM cell c JOIN journal_entry e ON e.external_id = 'bench-f/' || $2 || '/' || c.s
       UNION ALL
       SELECT e.ledger_seq, count(*) + 1, 'klear_settlement', NULL, -sum(c.amount), $1::timestamptz, e.subtrader_id, $1::timestamptz
         FROM cell c JOIN journal_entry e ON e.external_id = 'bench-f/' || $2 || '/' || c.s GROUP BY e.ledger_seq, e.subtrader_id`,
      params,
    );
    await tx.query(
      `INSERT INTO klear_subtrader_group_membership (group_id, subtrader_id, valid_from, archive_id)
       SELECT 'BG' || lpad(((s - 1) / 4 + 1)::text, 5, '0'), ${subtrader}, $1::timestamptz - interval '1 day', 0 FROM generate_series(1, $2::int) s`,
      [shape.cycle, grouped],
    );
    await tx.query(
      `INSERT INTO klear_margin_detail (obligation_id, id, subtrader_id, maintenance_margin_centicents, maintenance_margin_delta_centicents, margin_group_id, cycle)
       SELECT $2, 'mm-' || s, ${subtrader}, ${requirement}, ${requirement}, NULL, $1::timestamptz FROM generate_series($4::int + 1, $3::int) s WHERE $1::timestamptz IS NOT NULL
       UNION ALL
       SELECT $2, 'mm-g' || ((s - 1) / 4 + 1), '', sum(${requirement}), sum(${requirement}), 'BG' || lpad(((s - 1) / 4 + 1)::text, 5, '0'), $1::timestamptz
         FROM generate_series(1, $4::int) s GROUP BY (s - 1) / 4 + 1`,
      [shape.cycle, obligationId, shape.subtraders, grouped],
    );
    await entryPerSubtrader('bench-mm', 'margin_requirement', '2');
    await tx.query(
      `INSERT INTO journal_posting (entry_seq, line_no, account, market_ticker, amount_centicents, cycle, subtrader_id, cycle_key)
       SELECT e.ledger_seq, x.line, x.account, NULL, x.sign * ${requirement}, $1::timestamptz, e.subtrader_id, $1::timestamptz
         FROM generate_series(1, $3::int) s JOIN journal_entry e ON e.external_id = 'bench-mm/' || $2 || '/' || s,
              (VALUES (1, 'maintenance_margin', 1), (2, 'maintenance_margin_contra', -1)) AS x(line, account, sign)
        WHERE $4::int > 0`,
      params,
    );
    // Klear's own totals include the funding and the margin delta (amount = total - delta + funding).
    // Each delta is the whole requirement: no earlier cycle lists these subtraders or groups (the workbook
    // benchmark's earlier cycle, in the same database in a full run, has other subtraders and no margin
    // rows), so Klear's delta from nothing is the requirement. With deltas of zero, the margin-delta
    // consistency check (it runs once an earlier cycle is ingested) found every one of them inconsistent:
    // 9,250 breaks beside the 50 of the world (full run, 2026-12-05).
    await tx.query(
      `UPDATE klear_obligation o SET amount_centicents = o.pnl_centicents + f.funding - mm.delta, funding_centicents = f.funding, funding_payment_count = f.n,
              maintenance_margin_centicents = mm.requirement
         FROM (SELECT coalesce(sum(funding_amount_centicents), 0) AS funding, count(*) AS n FROM klear_funding_payment WHERE obligation_id = $1) f,
              (SELECT coalesce(sum(maintenance_margin_centicents), 0) AS requirement, coalesce(sum(maintenance_margin_delta_centicents), 0) AS delta
                 FROM klear_margin_detail WHERE obligation_id = $1) mm
        WHERE o.id = $1`,
      [obligationId],
    );
  });
  const [counts] = (await dataSource.query(
    `SELECT (SELECT count(*) FROM klear_funding_payment WHERE obligation_id = $1)::int AS payments,
            (SELECT count(*) FROM journal_posting WHERE cycle = $2 AND account = 'funding')::int AS postings,
            (SELECT count(*) FROM klear_margin_detail WHERE obligation_id = $1)::int AS margin_rows`,
    [obligationId, shape.cycle],
  )) as Array<{ payments: number; postings: number; margin_rows: number }>;
  return { fundingPayments: counts.payments, fundingPostings: counts.postings, groups: grouped / 4, marginRows: counts.margin_rows };
}

/** Times the bare SQL floor, then one full reconciliation run of the cycle, on warm caches. */
export async function benchReconciliationRun(
  dataSource: DataSource,
  shape: BenchShape,
  settings: ReconSettings,
): Promise<ReconciliationBenchResult> {
  const { obligationId, loadMs, extras } = await loadBenchCycle(dataSource, shape);
  await dataSource.query(RECONCILIATION_FLOOR_SQL, [shape.cycle, obligationId]); // warm-up
  let started = performance.now();
  const mismatching = (await dataSource.query(RECONCILIATION_FLOOR_SQL, [shape.cycle, obligationId])) as unknown[];
  const floorMs = performance.now() - started;
  await dataSource.query(RECONCILIATION_MARKET_FLOOR_SQL, [shape.cycle, obligationId]); // warm-up
  started = performance.now();
  const marketMismatches = (await dataSource.query(RECONCILIATION_MARKET_FLOOR_SQL, [shape.cycle, obligationId])) as unknown[];
  const marketFloorMs = performance.now() - started;
  const runs = new ReconciliationRunRepository(dataSource, new AuditService(dataSource, benchKeyring(), systemClock), systemClock);
  started = performance.now();
  const outcome = await runs.run({ scope: 'cycle', cycle: shape.cycle, actor: 'bench', settings }, () => new Error('bench cycle missing'));
  const runMs = performance.now() - started;
  return {
    extras,
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
 * The `npm run bench` reconciliation benchmark: one cycle of `subtraders x markets` with 0.5% of
 * subtraders broken, the run against the bare SQL floor.
 */
export async function benchReconciliation(context: {
  dataSource: DataSource;
  subtraders: number;
  markets: number;
}): Promise<Measurement[]> {
  const shape: BenchShape = {
    subtraders: context.subtraders,
    markets: context.markets,
    brokenShare: 0.005,
    cycle: new Date('2031-06-10T21:00:00Z'),
  };
  const zero = { settlementDetails: 0n, maintenanceMargin: 0n, funding: 0n, klearConsistency: 0n, settlementBuffer: 0n, projected: 0n };
  const result = await benchReconciliationRun(context.dataSource, shape, { tolerances: zero, bufferMatchWindowHours: 24 });
  // The world's breaks are the subtraders the bare join finds: a run that finds more timed other work
  // (a full run once timed 9,300 breaks where the world had 50), so it is not a figure of this world.
  if (result.runBreaks !== result.floorMismatchingGroups) {
    throw new Error(
      `the run found ${result.runBreaks} breaks where the world has ${result.floorMismatchingGroups}: not this benchmark's world`,
    );
  }
  return [
    {
      name: `reconciliation run (six checks), ${result.detailRows} detail rows vs ${result.ledgerPostings} postings, funding ${result.extras.fundingPayments} payments vs ${result.extras.fundingPostings} postings, ${result.extras.groups} netted groups (${result.runBreaks} breaks), vs bare per-(subtrader, cycle) join`,
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
