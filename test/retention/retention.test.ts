import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditService } from '@app/audit';
import { ManualClock } from '@app/clock';
import { loadConfig } from '@app/config';
import { CYCLE_PARTITIONED_TABLES, defaultPartitionRows, ensureCyclePartitions, ensureCyclePartitionsAhead } from '@app/db';
import { ExportFileRepository, ExportsService, WorkbookBuilder, WorkbookReadRepository } from '@app/exports';
import { ReconciliationRunRepository, ReconciliationSummaries, ReconciliationSummariesRepository } from '@app/reconciliation';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import type ExcelJS from 'exceljs';
import type { EntityManager } from 'typeorm';
import { refreshLatestFigures } from '@app/ingestion';
import { RetentionRepository, RetentionService } from '@app/retention';
import { CYCLE_1, DAY, seedReconciledDay } from '../exports/reconciled-day-factory';
import { postJournalEntry, settlementPostings } from '../exports/settlement-world';
import { waitUntilBlockedOnALock } from '../support/lock-wait';
import { readWorkbook } from '../exports/workbook-reader';

/**
 * Retention on the reconciled day of the workbook tests (March 2026) with older months beside it:
 * January 2026 (one cycle, reconciled, its break closed, Klear answers received) may go; November
 * 2025 holds a cycle whose break is still open and must stay; February 2026 holds the previous cycle
 * of the oldest kept one. The clock is the day after DAY; the configured age 30 days.
 */
const clock = new ManualClock('2026-03-11T19:00:00Z');
const JANUARY_CYCLE = '2026-01-14T21:00:00.000Z';
const NOVEMBER_CYCLE = '2025-11-20T21:00:00.000Z';
const FEBRUARY_CYCLE = '2026-02-05T21:00:00.000Z';
const zero = { settlementDetails: 0n, maintenanceMargin: 0n, funding: 0n, klearConsistency: 0n, settlementBuffer: 0n, projected: 0n };
const settings = { tolerances: zero, bufferMatchWindowHours: 24 };

let db: TestDatabase;
let dir: string;
let audit: AuditService;
let exportsService: ExportsService;
let runs: ReconciliationRunRepository;
let retention: RetentionService;
const q = async <T>(sql: string, params: unknown[] = []) => (await db.dataSource.query(sql, params)) as T[];

async function oldCycle(m: EntityManager, id: string, cycle: string, pnl: bigint, ledgerPnl: bigint): Promise<void> {
  await m.query(
    `INSERT INTO klear_obligation (id, user_id, amount_centicents, fees_centicents, maintenance_margin_centicents, pnl_centicents, execution_time, last_updated_ts,
                                   content_sha256, settlement_detail_count, first_pulled_at, pulled_at, archive_id)
     VALUES ($1, 'scm', $2, 0, 100, $2, $3, $3, md5($1), 1, $3, $3, 1)`,
    [id, pnl.toString(), cycle],
  );
  await m.query(
    `INSERT INTO klear_settlement_detail (obligation_id, id, market_ticker, subtrader_id, pnl_centicents, fees_centicents, total_centicents, cycle) VALUES ($1, $1 || '-d', 'MKT-X', 'ST-A', $2, 0, $2, $3)`,
    [id, pnl.toString(), cycle],
  );
  await m.query(
    `INSERT INTO klear_margin_detail (obligation_id, id, subtrader_id, maintenance_margin_centicents, maintenance_margin_delta_centicents, cycle) VALUES ($1, $1 || '-m', 'ST-A', 100, 0, $2)`,
    [id, cycle],
  );
  // As ingestion leaves it (upsertObligation): the latest cycle's figures of GET /subtraders.
  await refreshLatestFigures(m, null);
  await postJournalEntry(m, {
    id: `ts-${id}`,
    type: 'trade_settlement',
    at: cycle,
    cycle,
    subtrader: 'ST-A',
    postings: settlementPostings([['MKT-X', ledgerPnl, 0n]]),
  });
  await m.query(
    `INSERT INTO klear_response_archive (endpoint, params, received_at, http_status, sha256, body) VALUES ('GET /margin/obligation_history', '{}', $1::timestamptz + interval '1 hour', 200, md5($2), convert_to($2, 'UTF8'))`,
    [cycle, `{"obligation":"${id}"}`],
  );
}

/**
 * Every cell of every sheet, as text (the workbook's content, independent of its zip container). The
 * Summary states the audit chain's newest row as an anchor (`seq:hash`): retention's own audit rows
 * advance it, so it is named, not compared; every other cell must be the same.
 */
function contentOf(workbook: ExcelJS.Workbook): string[][][] {
  return workbook.worksheets.map((sheet) => {
    const rows: string[][] = [];
    sheet.eachRow((row) =>
      rows.push(
        (row.values as ExcelJS.CellValue[])
          .slice(1)
          .map((v) => JSON.stringify(v ?? null).replace(/\b\d+:[0-9a-f]{64}\b/g, '<newest audit row>')),
      ),
    );
    return rows;
  });
}

async function workbookOfDay(): Promise<string[][][]> {
  const file = await exportsService.build(DAY, 'alice');
  return contentOf(await readWorkbook((await exportsService.fileOf(file.id)).path));
}

async function reconcileCycle1(): Promise<{ breakCount: number; observations: unknown[] }> {
  const outcome = await runs.run(
    { scope: 'cycle', cycle: new Date(CYCLE_1), actor: 'retention-test', settings },
    () => new Error('cycle 1 missing'),
  );
  const [run] = await q<{ id: string }>(`SELECT max(id)::text AS id FROM recon_run WHERE cycle = $1`, [CYCLE_1]);
  const observations = await q(
    `SELECT ordinal, break_key, "check", subtrader_id, reason_code, klear_value_centicents::text, internal_value_centicents::text, difference_centicents::text, klear_rows, internal_rows
       FROM recon_break_observation WHERE run_id = $1 ORDER BY ordinal`,
    [run.id],
  );
  return { breakCount: outcome.breakCount, observations };
}

const KEY: Record<string, string> = Object.fromEntries(CYCLE_PARTITIONED_TABLES.map((t) => [t.table, t.key]));
/** Rows of a partitioned table in the hot tables with their partition key in [from, to). */
const held = async (table: string, from: string, to: string) =>
  (await q<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${KEY[table]} >= $1 AND ${KEY[table]} < $2`, [from, to]))[0].n;

beforeAll(async () => {
  db = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'klear-retention-'));
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: db.url, EXPORTS_DIR: join(dir, 'exports') });
  audit = new AuditService(db.dataSource, null, clock);
  exportsService = new ExportsService(
    new ExportFileRepository(db.dataSource),
    new WorkbookBuilder(new WorkbookReadRepository(db.dataSource)),
    audit,
    config,
    clock,
  );
  runs = new ReconciliationRunRepository(db.dataSource, audit, clock);
  retention = new RetentionService(new RetentionRepository(db.dataSource), audit, clock);
  await ensureCyclePartitions(db.dataSource, [NOVEMBER_CYCLE, JANUARY_CYCLE, FEBRUARY_CYCLE, CYCLE_1]);
  await seedReconciledDay(db.dataSource);
  await db.dataSource.transaction(async (m) => {
    await oldCycle(m, 'ob-jan', JANUARY_CYCLE, 500n, 499n);
    await oldCycle(m, 'ob-nov', NOVEMBER_CYCLE, 700n, 690n);
    await oldCycle(m, 'ob-feb', FEBRUARY_CYCLE, 900n, 900n);
  });
  // The old cycles reconciled by the engine: January's break is then closed by hand, November's stays open.
  for (const cycle of [NOVEMBER_CYCLE, JANUARY_CYCLE, FEBRUARY_CYCLE]) {
    await runs.run({ scope: 'cycle', cycle: new Date(cycle), actor: 'retention-test', settings }, () => new Error(`${cycle} missing`));
  }
  await q(`UPDATE recon_break SET status = 'closed' WHERE cycle = $1`, [JANUARY_CYCLE]);
});

afterAll(async () => {
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('partitions', () => {
  it('file each month of every large table in its own partition, nothing in the default ones', async () => {
    const parts = await q<{ relname: string }>(
      `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'journal_posting'::regclass ORDER BY 1`,
    );
    expect(parts.map((p) => p.relname)).toEqual(
      expect.arrayContaining([
        'journal_posting_default',
        'journal_posting_no_cycle',
        'journal_posting_p202511',
        'journal_posting_p202601',
        'journal_posting_p202603',
      ]),
    );
    expect((await defaultPartitionRows(db.dataSource)).filter((r) => r.rows > 0)).toEqual([]);
    expect(await held('klear_settlement_detail', '2026-01-01', '2026-02-01')).toBe(1);
    const [{ n }] = await q<{ n: number }>(`SELECT count(*)::int AS n FROM journal_posting_p202601`);
    expect(n).toBe(3);
    // A "this cycle" query reads its month only.
    const plan = (await q<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT * FROM klear_settlement_detail WHERE cycle = $1`, [CYCLE_1]))
      .map((r) => r['QUERY PLAN'])
      .join('\n');
    expect(plan).toMatch(/klear_settlement_detail_p202603/);
    expect(plan).not.toMatch(/p202601|p202511|_default/);
  });

  it('catch a row of a month without a partition in the default partition, report it, and move it into the month once made', async () => {
    await db.dataSource.transaction(async (m) => {
      await oldCycle(m, 'ob-stray', '2025-06-10T21:00:00.000Z', 1n, 1n);
    });
    const strays = (await defaultPartitionRows(db.dataSource)).filter((r) => r.rows > 0);
    expect(strays.map((s) => [s.table, s.rows])).toEqual([
      ['klear_settlement_detail', 1],
      ['klear_margin_detail', 1],
      ['journal_posting', 3],
      ['klear_response_archive', 1],
    ]);
    await ensureCyclePartitions(db.dataSource, ['2025-06-01T00:00:00Z']);
    expect((await defaultPartitionRows(db.dataSource)).filter((r) => r.rows > 0)).toEqual([]);
    expect((await q<{ n: number }>(`SELECT count(*)::int AS n FROM journal_posting_p202506`))[0].n).toBe(3);
    // The summaries still agree with the rows (moving rows between partitions is not a change).
    expect(await new ReconciliationSummaries(new ReconciliationSummariesRepository(db.dataSource, audit)).verify()).toEqual([]);
    // Triggers of the partitioned tables fire for the new month: postings stay immutable.
    await expect(q(`DELETE FROM journal_posting WHERE cycle_key >= '2025-06-01' AND cycle_key < '2025-07-01'`)).rejects.toThrow(
      /immutable/,
    );
    await expect(q(`TRUNCATE journal_posting_p202506`)).rejects.toThrow(/append-only: TRUNCATE refused/);
    await expect(q(`UPDATE klear_response_archive SET http_status = 500 WHERE received_at < '2025-07-01'`)).rejects.toThrow(/append-only/);
  });

  it('make a month two sessions ask for at once: the one that waited for the other finds it made, and does not fail on "already exists"', async () => {
    // The first Klear answers of a month are archived together (the worker's jobs; the console's queue and
    // a withdrawal request), and each makes its month and the next before its rows go in. The session
    // that waited for the other's month lock looked the partition up again in a catalogue it had not yet
    // refreshed, found nothing, and its CREATE TABLE failed with 42P07 (a 500 on POST /withdrawals in CI).
    const maker = db.dataSource.createQueryRunner();
    await maker.connect();
    try {
      await maker.startTransaction();
      expect(await maker.query(`SELECT partition_ensure_month('2029-07-15T21:00:00Z') AS made`)).toEqual([{ made: 5 }]);
      // What every archived answer runs: this month (being made by the other session) and the next.
      const waiting = ensureCyclePartitionsAhead(db.dataSource, new Date('2029-07-20T21:00:00Z')).then(
        () => 'made',
        (error: Error) => error.message,
      );
      await waitUntilBlockedOnALock(db.dataSource);
      await maker.commitTransaction();
      expect(await waiting).toBe('made');
    } finally {
      await maker.release();
    }
    const made = await q<{ relname: string }>(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname ~ '_p2029(07|08)$' ORDER BY 1`,
    );
    expect(made.map((r) => r.relname)).toEqual(
      CYCLE_PARTITIONED_TABLES.flatMap((t) => [`${t.table}_p202907`, `${t.table}_p202908`]).sort(),
    );
  });

  it('still fails, with "already exists", on a table named like the month that another session made meanwhile and that is not its partition', async () => {
    // Taking "already exists" as "made meanwhile" holds only for a partition of the same table: a plain
    // table of that name would leave the month without a partition and its rows in the default one.
    const other = db.dataSource.createQueryRunner();
    await other.connect();
    try {
      await other.startTransaction();
      await other.query(`SELECT pg_advisory_xact_lock(hashtextextended('partition:klear_settlement_detail_p203107', 0))`);
      await other.query(`CREATE TABLE public.klear_settlement_detail_p203107 (x int)`);
      const waiting = ensureCyclePartitions(db.dataSource, ['2031-07-15T21:00:00Z']).then(
        () => 'made',
        (error: Error) => error.message,
      );
      await waitUntilBlockedOnALock(db.dataSource);
      await other.commitTransaction();
      expect(await waiting).toBe('relation "klear_settlement_detail_p203107" already exists');
    } finally {
      await other.release();
      await q(`DROP TABLE IF EXISTS public.klear_settlement_detail_p203107`);
    }
    expect(await q(`SELECT relname FROM pg_class WHERE relname ~ '_p203107' AND relkind IN ('r', 'p')`)).toEqual([]);
  });
});

describe('retention', () => {
  let before: { workbook: string[][][]; recon: { breakCount: number; observations: unknown[] }; auditChecked: number };
  let outcome: Awaited<ReturnType<RetentionService['run']>>;

  beforeAll(async () => {
    // New sessions of this database default to New York time, as a server configured there would:
    // the export must still write its files in UTC (the same bytes, the same checksums, wherever made).
    await q(`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET TimeZone TO %L', current_database(), 'America/New_York'); END $$`);
    const verified = await audit.verify();
    expect(verified.ok).toBe(true);
    // The recent cycle reconciled first (a run changes what the workbook shows), then its day's workbook.
    const recon = await reconcileCycle1();
    before = { recon, workbook: await workbookOfDay(), auditChecked: (await audit.verify()).checked };
  });

  it('in a dry run, says what would move and what is refused, and changes nothing', async () => {
    const dry = await retention.run({
      olderThanDays: 30,
      dryRun: true,
      outDir: join(dir, 'dry'),
      dropAfterExport: false,
      actor: 'retention-test',
    });
    expect(dry.cutoff).toBe('2026-02-09T19:00:00.000Z');
    expect(dry.months.map((m) => [m.month, m.action])).toEqual([
      ['2025-06', 'would_archive'],
      ['2025-11', 'refused'],
      ['2026-01', 'would_archive'],
    ]);
    expect(existsSync(join(dir, 'dry'))).toBe(false);
    expect(await held('klear_settlement_detail', '2026-01-01', '2026-02-01')).toBe(1);
  });

  it('moves the months older than the configured age out of the hot tables, refusing the one an open break needs and saying why', async () => {
    outcome = await retention.run({
      olderThanDays: 30,
      dryRun: false,
      outDir: join(dir, 'out'),
      dropAfterExport: false,
      actor: 'retention-test',
    });
    const november = outcome.months.find((m) => m.month === '2025-11')!;
    expect(november.action).toBe('refused');
    expect(november.reasons.join('\n')).toMatch(
      /open break \d+ \(settlement_details\/.*ST-A.*\) of cycle 2025-11-20T21:00:00.000Z needs its rows/,
    );
    for (const table of ['klear_settlement_detail', 'klear_margin_detail', 'journal_posting', 'klear_response_archive']) {
      expect(await held(table, '2025-11-01', '2025-12-01')).toBe(table === 'journal_posting' ? 3 : 1);
    }
    const january = outcome.months.find((m) => m.month === '2026-01')!;
    expect(january.action).toBe('archived');
    expect(january.tables).toEqual(
      expect.arrayContaining([
        { table: 'klear_settlement_detail', rows: 1 },
        { table: 'klear_margin_detail', rows: 1 },
        { table: 'journal_posting', rows: 3 },
        { table: 'klear_response_archive', rows: 1 },
        { table: 'klear_settlement_summary', rows: 1 },
        { table: 'ledger_trading_summary', rows: 1 },
      ]),
    );
    expect(january.tables.find((t) => t.table === 'recon_break_observation')?.rows).toBeGreaterThan(0);
    for (const table of [
      'klear_settlement_detail',
      'klear_margin_detail',
      'journal_posting',
      'klear_response_archive',
      'recon_break_observation',
    ]) {
      expect(await held(table, '2026-01-01', '2026-02-01')).toBe(0);
    }
    // February holds the previous cycle of the oldest kept one, March the recent day: untouched.
    expect(await held('klear_settlement_detail', '2026-02-01', '2026-03-01')).toBe(1);
    expect(await new ReconciliationSummaries(new ReconciliationSummariesRepository(db.dataSource, audit)).verify()).toEqual([]);
  });

  it('keeps an archived month readable (read-only) in the archive schema', async () => {
    const [{ n }] = await q<{ n: number }>(`SELECT count(*)::int AS n FROM archive.journal_posting_p202601`);
    expect(n).toBe(3);
    await expect(q(`INSERT INTO archive.klear_margin_detail_p202601 SELECT * FROM archive.klear_margin_detail_p202601`)).rejects.toThrow(
      /read-only/,
    );
    await expect(q(`DELETE FROM archive.klear_response_archive_p202601`)).rejects.toThrow(/read-only/);
  });

  it('exports each archived table to a gzip COPY file with a SHA-256 manifest that checks out', async () => {
    const january = outcome.months.find((m) => m.month === '2026-01')!;
    const folder = join(dir, 'out', '2026-01');
    const sums = readFileSync(join(folder, 'SHA256SUMS'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('  '));
    expect(sums.map(([, f]) => f)).toEqual([...january.manifest!.files.map((f) => f.file), 'manifest.json']);
    for (const [sha, file] of sums)
      expect(
        createHash('sha256')
          .update(readFileSync(join(folder, file)))
          .digest('hex'),
      ).toBe(sha);
    const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as {
      files: Array<{ file: string; rows: number; table: string }>;
    };
    for (const f of manifest.files) {
      const text = gunzipSync(readFileSync(join(folder, f.file))).toString('utf8');
      expect(text.split('\n').filter(Boolean)).toHaveLength(f.rows);
    }
    const postings = gunzipSync(readFileSync(join(folder, 'journal_posting_p202601.copy.gz'))).toString('utf8');
    expect(postings).toMatch(/trading_pnl\tMKT-X\t499\t2026-01-14 21:00:00\+00/);
  });

  it('leaves the reconciliation of a recent cycle, the workbook of a recent day and the audit chain as they were', async () => {
    expect(await workbookOfDay()).toEqual(before.workbook);
    expect(await reconcileCycle1()).toEqual(before.recon);
    const verified = await audit.verify();
    expect(verified.ok).toBe(true);
    expect(verified.checked).toBeGreaterThan(before.auditChecked);
  });

  it('records every action in the audit trail', async () => {
    const rows = await q<{ action: string; entity_id: string }>(
      `SELECT action, entity_id FROM audit_log WHERE action LIKE 'retention.%' ORDER BY seq`,
    );
    expect(rows).toEqual(
      expect.arrayContaining([
        { action: 'retention.refuse', entity_id: '2025-11' },
        { action: 'retention.detach', entity_id: '2026-01' },
        { action: 'retention.export', entity_id: '2026-01' },
      ]),
    );
  });

  it('refuses a month an unresolved withdrawal may need', async () => {
    // The factory's withdrawal (submitted on 2026-03-10) is not final: March and later stay whatever the age.
    const reasons = await db.dataSource.transaction((m) => retention.reasonsToKeep(m, '2026-03', new Date('2026-06-01T00:00:00Z')));
    expect(reasons.join('\n')).toMatch(/unresolved withdrawal .* \(submitted, created 2026-03-10T15:00:00.000Z\)/);
  });

  it('puts an archived month back into the hot tables with its summaries, and drops exported months when asked', async () => {
    expect(await retention.restore('2026-01', 'retention-test')).toBe(5);
    expect(await held('journal_posting', '2026-01-01', '2026-02-01')).toBe(3);
    expect(await new ReconciliationSummaries(new ReconciliationSummariesRepository(db.dataSource, audit)).verify()).toEqual([]);
    expect(await reconcileCycle1()).toEqual(before.recon);
    const again = await retention.run({
      olderThanDays: 30,
      dryRun: false,
      outDir: join(dir, 'again'),
      dropAfterExport: true,
      actor: 'retention-test',
    });
    expect(again.months.find((m) => m.month === '2026-01')).toMatchObject({ action: 'archived', dropped: true });
    expect(
      await q(
        `SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'archive' AND relname LIKE '%p202601'`,
      ),
    ).toEqual([]);
    expect(existsSync(join(dir, 'again', '2026-01', 'manifest.json'))).toBe(true);
    expect((await audit.verify()).ok).toBe(true);
  });

  it('makes a second run that waited on a month the first was archiving find it gone and say so, instead of failing', async () => {
    // Two operators run retention at once: the second listed the month while the first was detaching it.
    await ensureCyclePartitions(db.dataSource, ['2025-09-10T21:00:00Z']);
    const first = db.dataSource.createQueryRunner();
    await first.connect();
    try {
      await first.startTransaction();
      await first.query(`SELECT pg_advisory_xact_lock(hashtextextended('retention:' || $1, 0))`, ['2025-09']);
      await first.query(`SELECT * FROM partition_archive_month('2025-09-01T00:00:00Z')`);
      const second = retention.run({
        olderThanDays: 30,
        dryRun: false,
        outDir: join(dir, 'second'),
        dropAfterExport: false,
        actor: 'retention-test',
      });
      await waitUntilBlockedOnALock(db.dataSource);
      await first.commitTransaction();
      const september = (await second).months.find((m) => m.month === '2025-09');
      expect(september).toMatchObject({
        action: 'refused',
        reasons: ['no longer in the hot tables: another retention run archived it meanwhile'],
      });
    } finally {
      await first.release();
    }
    expect(existsSync(join(dir, 'second', '2025-09'))).toBe(false);
    const archived = await q<{ relname: string }>(
      `SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'archive' AND relname ~ '_p202509$' ORDER BY 1`,
    );
    // Archived once, by the first: the month's rows and its summaries.
    const summaries = ['klear_settlement_summary', 'ledger_funding_summary', 'ledger_trading_summary'];
    expect(archived.map((r) => r.relname)).toEqual(
      [...CYCLE_PARTITIONED_TABLES.map((t) => t.table), ...summaries].map((t) => `${t}_p202509`).sort(),
    );
  });
});
