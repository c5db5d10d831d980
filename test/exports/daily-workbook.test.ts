import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import ExcelJS from 'exceljs';
import { AuditService } from '@app/audit';
import { ManualClock } from '@app/clock';
import { loadConfig, productVersion } from '@app/config';
import type { ExportFile } from '@app/db';
import {
  DAILY_WORKBOOK_JOB,
  DailyWorkbookJob,
  ExportFileRepository,
  ExportsService,
  WorkbookBuilder,
  WorkbookReadRepository,
} from '@app/exports';
import { Keyring } from '@app/secrets';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import {
  DAY,
  HUGE_PNL,
  INJECTION_COMMENT,
  INJECTION_DESCRIPTION,
  INJECTION_PURPOSE,
  INJECTION_SUBTRADER,
  seedReconciledDay,
  type SeededDay,
} from './reconciled-day-factory';
import { centicents, columnOf, DAILY_WORKBOOK_SHEETS, readWorkbook, records, type SheetRecord } from './workbook-reader';

let db: TestDatabase;
let dir: string;
let service: ExportsService;
let seeded: SeededDay;
let first: ExportFile;
let workbook: ExcelJS.Workbook;
/** The product's clock: the day after DAY, 15:00 ET. */
const clock = new ManualClock('2026-03-11T19:00:00Z');

const money = (r: SheetRecord, name: string) => centicents(r[`${name} (centicents)`]);
const q = async <T>(sql: string, params: unknown[] = []) => (await db.dataSource.query(sql, params)) as T[];

/** The day's cycles as PostgreSQL itself dates them in ET, and each one's run bound (independent of the exporter's luxon bounds). */
const DAY_SCOPE = `
  WITH scope AS (SELECT o.id, o.execution_time AS cycle, (r.inputs->>'ledger_seq')::bigint AS hwm
                   FROM klear_obligation o JOIN recon_run r ON r.cycle = o.execution_time AND r.scope = 'cycle'
                  WHERE (o.execution_time AT TIME ZONE 'America/New_York')::date = '${DAY}')`;

beforeAll(async () => {
  db = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'klear-exports-'));
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: db.url, EXPORTS_DIR: dir });
  service = new ExportsService(
    new ExportFileRepository(db.dataSource),
    new WorkbookBuilder(new WorkbookReadRepository(db.dataSource)),
    new AuditService(db.dataSource, null, clock),
    config,
    clock,
  );
  seeded = await seedReconciledDay(db.dataSource);
  first = await service.build(DAY, 'alice');
  workbook = await readWorkbook((await service.fileOf(first.id)).path);
});

afterAll(async () => {
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the daily workbook read back', () => {
  it('has the six sheets in order, each with a frozen, filterable header row', () => {
    expect(workbook.worksheets.map((s) => s.name)).toEqual(DAILY_WORKBOOK_SHEETS);
    for (const sheet of workbook.worksheets) {
      expect(sheet.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
      expect(sheet.autoFilter).toMatch(/^A1:[A-Z]+1$/);
      expect(sheet.getRow(1).getCell(1).font?.bold).toBe(true);
      expect(sheet.getColumn(1).width).toBeGreaterThan(8);
    }
  });

  it('carries title, settlement day and product version in its document properties', () => {
    expect(workbook.title).toBe(`Klear reconciliation ${DAY}`);
    expect(workbook.subject).toContain(DAY);
    expect(workbook.description).toContain(`product version ${productVersion()}`);
    expect(workbook.description).toContain(seeded.runIds.cycle1);
    expect(workbook.creator).toBe('Klear SCM back office');
  });

  it('writes money as dollars with a 4-decimal currency format and the exact centicents beside them', () => {
    const row = records(workbook, 'Settlement details').find(
      (r) => r.Subtrader === 'ST-A' && r.Market === 'MKT-X' && r['Klear pnl (centicents)'] === 1_250_000,
    )!;
    expect(row['Klear pnl (USD)']).toBe(125);
    expect(row['Klear fees (USD)']).toBe(0.05);
    const cell = row.__row.getCell(5);
    expect(cell.numFmt).toBe('"$"#,##0.0000;[Red]-"$"#,##0.0000');
  });

  it('writes an amount beyond 2^53 centicents as its exact decimal text, never a rounded number', () => {
    const row = records(workbook, 'Settlement details').find((r) => r.Subtrader === 'ST-H')!;
    expect(row['Klear pnl (USD)']).toBe('900719925474.0993');
    expect(money(row, 'Klear pnl')).toBe(HUGE_PNL);
    expect(money(row, 'Internal pnl')).toBe(HUGE_PNL);
    expect(money(row, 'Total difference')).toBe(0n);
  });
});

describe('workbook totals against the database, to the centicent', () => {
  it("states the Klear vs internal totals of the day as the database sums them under the runs' ledger bounds", async () => {
    const [k] = await q<Record<string, string>>(`${DAY_SCOPE}
      SELECT sum(d.pnl_centicents)::text AS pnl, sum(d.fees_centicents)::text AS fees, sum(d.total_centicents)::text AS total
        FROM scope s JOIN klear_settlement_detail d ON d.obligation_id = s.id`);
    const [mm] = await q<Record<string, string>>(
      `${DAY_SCOPE} SELECT sum(m.maintenance_margin_centicents)::text AS mm FROM scope s JOIN klear_margin_detail m ON m.obligation_id = s.id`,
    );
    const [i] = await q<Record<string, string>>(`${DAY_SCOPE}
      SELECT sum(p.amount_centicents) FILTER (WHERE account = 'trading_pnl')::text AS pnl, (-sum(p.amount_centicents) FILTER (WHERE account = 'trading_fees'))::text AS fees,
             sum(p.amount_centicents) FILTER (WHERE account IN ('trading_pnl', 'trading_fees'))::text AS total,
             sum(p.amount_centicents) FILTER (WHERE account = 'maintenance_margin')::text AS mm
        FROM scope s JOIN journal_posting p ON p.cycle = s.cycle AND p.entry_seq <= s.hwm`);
    const summary = records(workbook, 'Summary').filter((r) => r.Section === 'Klear vs internal');
    const figure = (item: string) => summary.find((r) => r.Item === item)!;
    for (const [item, klear, internal] of [
      ['day pnl', k.pnl, i.pnl],
      ['day fees', k.fees, i.fees],
      ['day total', k.total, i.total],
      ['day maintenance margin', mm.mm, i.mm],
    ]) {
      const row = figure(item);
      expect([item, money(row, 'Klear / amount'), money(row, 'Internal'), money(row, 'Difference')]).toEqual([
        item,
        BigInt(klear),
        BigInt(internal),
        BigInt(klear) - BigInt(internal),
      ]);
    }
    // The previous ET day's cycle (same UTC date as cycle 1's morning) is not part of the day.
    expect(summary.filter((r) => String(r.Item).endsWith(' pnl')).map((r) => r.Item)).toEqual([
      '2026-03-10 16:00:00 ET pnl',
      '2026-03-10 23:30:00 ET pnl',
      'day pnl',
    ]);
  });

  it('lists every Klear detail row and every ledger-only market of the day, and its columns add up to the database totals', async () => {
    const rows = records(workbook, 'Settlement details');
    const [k] = await q<{ n: number; total: string }>(
      `${DAY_SCOPE} SELECT count(*)::int AS n, sum(d.total_centicents)::text AS total FROM scope s JOIN klear_settlement_detail d ON d.obligation_id = s.id`,
    );
    const [i] = await q<{ groups: number; total: string }>(`${DAY_SCOPE}
      SELECT count(DISTINCT (p.cycle, p.subtrader_id, p.market_ticker))::int AS groups, sum(p.amount_centicents)::text AS total
        FROM scope s JOIN journal_posting p ON p.cycle = s.cycle AND p.entry_seq <= s.hwm WHERE p.account IN ('trading_pnl', 'trading_fees')`);
    const sum = (name: string) => rows.reduce((t, r) => t + (money(r, name) ?? 0n), 0n);
    expect(rows.filter((r) => r['Klear detail id'] !== null)).toHaveLength(k.n);
    expect(sum('Klear total')).toBe(BigInt(k.total));
    expect(sum('Internal total')).toBe(BigInt(i.total));
    expect(rows.filter((r) => r['Internal total (centicents)'] !== null)).toHaveLength(i.groups);
    expect(sum('Total difference')).toBe(BigInt(k.total) - BigInt(i.total));
    const match = (s: string, m: string) =>
      rows
        .filter((r) => r.Subtrader === s && r.Market === m)
        .map((r) => [r['Cycle (ET)'] instanceof Date, r.Match, money(r, 'Total difference')]);
    expect(match('ST-B', 'MKT-X')).toEqual([[true, 'mismatch', 1n]]);
    expect(match('ST-C', 'MKT-X')).toEqual([[true, 'missing_klear', -40n]]);
    // Booked after the run's high-water mark: left out, as the run left it out.
    expect(match('ST-A', 'MKT-X').map((m) => m[1])).toEqual(['matched', 'missing_internal']);
  });

  it("shows the breaks the day's runs found and those closed during the day, exactly as the database holds them", async () => {
    const expected = await q<Record<string, string | null>>(
      `SELECT id::text, break_key, "check", reason_code, klear_value_centicents::text AS klear, internal_value_centicents::text AS internal,
              difference_centicents::text AS difference, status, assignee
         FROM recon_break WHERE id = ANY($1::bigint[]) ORDER BY array_position($1::bigint[], id)`,
      [[seeded.breakIds.new, seeded.breakIds.closedToday]],
    );
    const rows = records(workbook, 'Breaks');
    expect(
      rows.map((r) => [
        r['Break id'],
        r.Key,
        r.Check,
        r.Reason,
        money(r, 'Klear'),
        money(r, 'Internal'),
        money(r, 'Difference'),
        r.Status,
        r.Assignee,
      ]),
    ).toEqual(
      expected.map((b) => [
        b.id,
        b.break_key,
        b.check,
        b.reason_code,
        b.klear === null ? null : BigInt(b.klear),
        b.internal === null ? null : BigInt(b.internal),
        BigInt(b.difference!),
        b.status,
        b.assignee,
      ]),
    );
    // The previous day's break still open is that day's (and its workbook's), not this one's; nor is one closed before the day.
    const listed = Object.fromEntries(
      rows.map((r) => [r['Break id'], [r['Listed because'], r['Found by run'], r['Age (days)'], r['Closed by']]]),
    );
    expect(listed).toEqual({
      [seeded.breakIds.new]: ['found', seeded.runIds.cycle1, 0, null],
      [seeded.breakIds.closedToday]: ['closed on the day', null, 1, `run ${seeded.runIds.cycle1}`],
    });
    expect(rows.find((r) => r['Break id'] === seeded.breakIds.new)!['Last comment']).toBe(INJECTION_COMMENT);
  });

  it('counts breaks by check and status on the Summary from the same rows', () => {
    const breaks = records(workbook, 'Summary').filter((r) => r.Section === 'Breaks' || r.Section === 'Closed on the day');
    expect(breaks.map((r) => [r.Section, r.Item, r.Count, money(r, "Breaks' difference")])).toEqual([
      ['Breaks', 'settlement_details acknowledged', 1, 1n],
      ['Closed on the day', 'maintenance_margin closed', 1, 10n],
      ['Breaks', 'to work on (open, acknowledged, pending_write_off)', 1, null],
      ['Breaks', "all found by the day's runs", 1, null],
      ['Closed on the day', 'all closed on the day', 1, null],
    ]);
    // The previous day's break still open is counted (not listed): it is on that day's workbook.
    const earlier = records(workbook, 'Summary').find((r) => r.Section === 'Earlier days')!;
    expect([earlier.Count, money(earlier, "Breaks' difference")]).toEqual([1, -2_500n]);
  });

  it("reports on the Summary what each cycle's run tolerated, per check", () => {
    const tolerated = records(workbook, 'Summary').filter((r) => r.Section === 'Tolerated');
    expect(tolerated.map((r) => [r.Item, r.Count, money(r, 'Difference')])).toEqual([
      ['2026-03-10 16:00:00 ET settlement_details', 2, -3n],
    ]);
  });

  it('reports per subtrader the Klear and internal figures, differences and break counts', async () => {
    const rows = records(workbook, 'Subtraders');
    const b = rows.find((r) => r.Subtrader === 'ST-B')!;
    expect([
      money(b, 'Klear total'),
      money(b, 'Internal total'),
      money(b, 'Total difference'),
      money(b, 'Pnl difference'),
      b.Breaks,
      b['Open breaks'],
      b.Status,
    ]).toEqual([77_783n, 77_782n, 1n, 1n, 1, 1, 'open breaks']);
    // A difference no run's break explains (a ledger-only subtrader this factory's run did not report) says so.
    expect(rows.find((r) => r.Subtrader === 'ST-C')!.Status).toBe('difference, no break');
    const a = rows.find((r) => r.Subtrader === 'ST-A')!;
    expect([money(a, 'Maintenance margin difference'), a['Known to']]).toEqual([0n, 'both']);
    expect(rows.find((r) => r.Subtrader === 'ST-C')!['Known to']).toBe('ledger only');
    expect(rows.find((r) => r.Subtrader === '(empty)')).toBeDefined();
    const total = rows.reduce((t, r) => t + money(r, 'Total difference')!, 0n);
    const day = records(workbook, 'Summary').find((r) => r.Item === 'day total')!;
    expect(total).toBe(money(day, 'Difference'));
  });

  it("matches the day's buffer movements by reference and derives the balances at the start and end of the day from Klear's history", () => {
    const rows = records(workbook, 'Buffer movements');
    expect(rows.map((r) => [r['Business transaction id'], r['Ledger entry'], money(r, 'Difference')])).toEqual([
      ['btx-dep-1', 'dep-1', 0n],
      [null, 'dep-2', -20_000n],
      ['btx-pay-1', null, -1_234_567n],
    ]);
    const buffer = records(workbook, 'Summary').filter((r) => r.Section === 'Buffer');
    // History before the day: btx-old (+1); during it: +5,000,000 and -1,234,567. Snapshots are not used.
    expect(buffer.map((r) => [r.Item, money(r, 'Klear / amount')])).toEqual([
      ['available at start of day', 1n],
      ['locked at start of day', 0n],
      ['movements of the day (Klear history vs ledger)', 3_765_433n],
      ['available at end of day', 3_765_434n],
      ['locked at end of day', 0n],
    ]);
    expect(money(buffer[2], 'Internal')).toBe(5_020_000n);
    expect(buffer[0].Note).toBe("derived from Klear's balance history: the sum of its 1 movement(s) before 2026-03-10 00:00:00 ET");
  });

  it("lists the day's withdrawals with approvals, Klear id and status history, and the jobs' last successful pulls", () => {
    const [w] = records(workbook, 'Withdrawals');
    expect([w['Request id'], money(w, 'Amount'), w.State, w['Klear withdrawal id']]).toEqual([
      seeded.withdrawalId,
      2_500_000n,
      'submitted',
      'kw-77',
    ]);
    expect(w.Approvals).toBe('approve by factory-approver at 2026-03-10 11:05:00 ET');
    expect(String(w['Status history']).split('; ')).toHaveLength(4);
    const jobs = records(workbook, 'Summary').filter((r) => r.Section === 'Jobs');
    expect(jobs.map((r) => [r.Item, r.Note])).toEqual([
      ['balance_history', 'last success 2026-03-10 17:00:02 ET; last run failed at 2026-03-10 17:10:00 ET'],
      ['obligation_history', 'last success 2026-03-10 17:15:09 ET; last run succeeded at 2026-03-10 17:15:00 ET'],
    ]);
  });
});

describe('untrusted text in the workbook', () => {
  it('stays text: formula-like subtrader ids, comments, descriptions and purposes are string cells, and no sheet holds a formula', () => {
    const cells = [
      records(workbook, 'Settlement details')
        .find((r) => r.Subtrader === INJECTION_SUBTRADER)!
        .__row.getCell(columnOf(workbook, 'Settlement details', 'Subtrader')),
      records(workbook, 'Breaks')
        .find((r) => r['Last comment'] === INJECTION_COMMENT)!
        .__row.getCell(columnOf(workbook, 'Breaks', 'Last comment')),
      records(workbook, 'Buffer movements')
        .find((r) => r['Ledger description'] === INJECTION_DESCRIPTION)!
        .__row.getCell(columnOf(workbook, 'Buffer movements', 'Ledger description')),
      records(workbook, 'Withdrawals')[0].__row.getCell(columnOf(workbook, 'Withdrawals', 'Purpose')),
    ];
    expect(cells.map((c) => [c.type, c.value])).toEqual([
      [ExcelJS.ValueType.String, INJECTION_SUBTRADER],
      [ExcelJS.ValueType.String, INJECTION_COMMENT],
      [ExcelJS.ValueType.String, INJECTION_DESCRIPTION],
      [ExcelJS.ValueType.String, INJECTION_PURPOSE],
    ]);
    for (const sheet of workbook.worksheets)
      sheet.eachRow((row) => row.eachCell((cell) => expect(cell.type).not.toBe(ExcelJS.ValueType.Formula)));
  });

  it("has no <f> element in any sheet's XML: nothing Excel would evaluate", async () => {
    const { default: JSZip } = (await import('jszip')) as {
      default: { loadAsync(b: Buffer): Promise<{ file(re: RegExp): Array<{ async(t: 'string'): Promise<string> }> }> };
    };
    const zip = await JSZip.loadAsync(readFileSync(join(dir, first.filePath)));
    const sheets = zip.file(/^xl\/worksheets\/sheet\d+\.xml$/);
    expect(sheets).toHaveLength(7);
    for (const sheet of sheets) {
      const xml = await sheet.async('string');
      expect(xml).not.toMatch(/<f[ >]/);
    }
    const summaryXml = await sheets[0].async('string');
    expect(summaryXml).toContain('conditionalFormatting');
  });

  it('highlights non-zero differences with conditional formatting built from cell references only', () => {
    const sheet = workbook.getWorksheet('Settlement details')!;
    const rules = (sheet as unknown as { conditionalFormattings: Array<{ ref: string; rules: Array<{ formulae: string[] }> }> })
      .conditionalFormattings;
    expect(rules.map((r) => [r.ref, r.rules[0].formulae[0]])).toEqual([
      ['Q2:Q9', 'AND(Q2<>"",Q2<>0)'],
      ['R2:R9', 'AND(R2<>"",R2<>0)'],
    ]);
  });
});

describe('export files', () => {
  it('records the file with its size, SHA-256, run ids and creator, and audits the creation', async () => {
    const bytes = readFileSync(join(dir, first.filePath));
    expect([first.version, first.fileName, first.sizeBytes, first.sha256, first.createdBy]).toEqual([
      1,
      `klear-recon-${DAY}.xlsx`,
      String(bytes.length),
      createHash('sha256').update(bytes).digest('hex'),
      'alice',
    ]);
    expect([...first.reconciliationRunIds].sort()).toEqual([seeded.runIds.cycle1, seeded.runIds.cycle2].sort());
    expect(first.rowCounts['Settlement details']).toBe(8);
    const audit = await q<{ actor: string; action: string }>(
      `SELECT actor, action FROM audit_log WHERE entity_type = 'export_file' AND entity_id = $1`,
      [first.id],
    );
    expect(audit).toEqual([{ actor: 'alice', action: 'export.created' }]);
  });

  it('makes a rebuild a new version with its own file, leaving the first untouched', async () => {
    const before = readFileSync(join(dir, first.filePath));
    const second = await service.build(DAY, 'bob');
    expect([second.version, second.fileName]).toEqual([2, `klear-recon-${DAY}-v2.xlsx`]);
    expect(second.filePath).not.toBe(first.filePath);
    expect(readFileSync(join(dir, first.filePath)).equals(before)).toBe(true);
    const rows = await q<{ version: number }>(`SELECT version FROM export_file WHERE settlement_date = $1 ORDER BY version`, [DAY]);
    expect(rows.map((r) => r.version)).toEqual([1, 2]);
  });

  it('gives concurrent builds of one day distinct versions', async () => {
    const built = await Promise.all([service.build(DAY, 'carol'), service.build(DAY, 'dave')]);
    expect(built.map((b) => b.version).sort()).toEqual([3, 4]);
  });

  it('refuses to rewrite an export row in the database', async () => {
    await expect(db.dataSource.query(`UPDATE export_file SET sha256 = 'x' WHERE id = $1`, [first.id])).rejects.toThrow(/append-only/);
    await expect(db.dataSource.query(`DELETE FROM export_file WHERE id = $1`, [first.id])).rejects.toThrow(/append-only/);
  });

  it('lists the days the scheduled job still has to build: reconciled, without a workbook covering every cycle, today as soon as its cycle is reconciled', async () => {
    clock.set('2026-03-11T20:00:00Z'); // 16:00 ET
    // The previous day is reconciled and has no workbook yet; DAY has one.
    expect(await service.daysToBuild(7)).toEqual(['2026-03-09']);
    await db.dataSource
      .query(`INSERT INTO klear_obligation (id, user_id, amount_centicents, fees_centicents, maintenance_margin_centicents, pnl_centicents, execution_time, last_updated_ts, content_sha256, settlement_detail_count, first_pulled_at, pulled_at, archive_id)
      VALUES ('ob-3', 'scm', 0, 0, 0, 0, '2026-03-11T19:00:00Z', now(), 'x', 0, now(), now(), 1)`);
    expect(await service.daysToBuild(7)).toEqual(['2026-03-09']);
    await db.dataSource
      .query(`INSERT INTO recon_run (scope, scope_key, cycle, inputs, inputs_sha256, status, started_at, finished_at, created_by)
      VALUES ('cycle', 'cycle/x', '2026-03-11T19:00:00Z', '{}', 'x', 'succeeded', now(), now(), 'test')`);
    expect(await service.daysToBuild(7)).toEqual(['2026-03-09', '2026-03-11']);
    expect(await service.daysToBuild(0)).toEqual(['2026-03-11']);
  });

  it('has the daily_workbook job build each reconciled day without a workbook once, and nothing on its next run', async () => {
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: db.url, EXPORTS_DIR: dir, EXPORTS_WORKBOOK_LOOKBACK_DAYS: '3650' });
    const job = new DailyWorkbookJob(service, config);
    const run = async () => {
      const details: Record<string, unknown>[] = [];
      let written = 0;
      await job.run({
        runId: '1',
        job: DAILY_WORKBOOK_JOB,
        trigger: 'manual',
        signal: new AbortController().signal,
        confirmLockHeld: async () => undefined,
        read: () => undefined,
        wrote: (n = 1) => void (written += n),
        setDetails: (d) => void details.push(d),
        progress: () => undefined,
      });
      return { written, details };
    };
    const firstRun = await run();
    expect(firstRun.written).toBe(2);
    const rows = await q<{ settlement_date: string; version: number; created_by: string }>(
      `SELECT to_char(settlement_date, 'YYYY-MM-DD') AS settlement_date, version, created_by FROM export_file WHERE created_by LIKE 'job:%' ORDER BY 1`,
    );
    expect(rows).toEqual([
      { settlement_date: '2026-03-09', version: 1, created_by: 'job:daily_workbook' },
      { settlement_date: '2026-03-11', version: 1, created_by: 'job:daily_workbook' },
    ]);
    expect((await run()).written).toBe(0);
  });
});

// Issue #14: an anchor of the audit chain published outside the database (in the workbook and the
// log), so that a chain cut back or rebuilt by someone who can write rows is still caught later.
describe('the audit-trail anchor on the Summary', () => {
  const anchorOf = (book: ExcelJS.Workbook) => {
    const line = records(book, 'Summary').find((r) => r.Section === 'Audit trail' && r.Item === 'anchor (latest audit row at the build)');
    const m = /^(\d+):([0-9a-f]{64})$/.exec(String(line?.Note ?? ''));
    if (!m) throw new Error(`no anchor on the Summary: ${String(line?.Note)}`);
    return { seq: m[1], hash: m[2] };
  };

  it('is the latest audit row at the build, signed, printed in the log, and audit:verify accepts it', async () => {
    const keyring = new Keyring(randomBytes(32));
    const audit = new AuditService(db.dataSource, keyring, clock);
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: db.url, EXPORTS_DIR: dir });
    const signing = new ExportsService(
      new ExportFileRepository(db.dataSource),
      new WorkbookBuilder(new WorkbookReadRepository(db.dataSource)),
      audit,
      config,
      clock,
    );
    // Ten more rows: the chain crosses from one-digit to two-digit seqs (the latest row is the largest number, not the largest text).
    for (let i = 0; i < 10; i++) await audit.record({ actor: 'alice', action: 'test.signed', entityType: 'test', entityId: `anchor-${i}` });
    const [last] = await q<{ seq: string; hash: string; mac: string }>(
      `SELECT seq::text AS seq, hash, mac FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)`,
    );
    expect(BigInt(last.seq)).toBeGreaterThanOrEqual(10n);
    const logged: string[] = [];
    const spy = jest.spyOn(Logger.prototype, 'log').mockImplementation((message: unknown) => void logged.push(String(message)));
    let built: ExportFile;
    try {
      built = await signing.build(DAY, 'alice');
    } finally {
      spy.mockRestore();
    }
    const book = await readWorkbook((await signing.fileOf(built.id)).path);
    expect(anchorOf(book)).toEqual({ seq: last.seq, hash: last.hash });
    const mac = records(book, 'Summary').find((r) => r.Section === 'Audit trail' && r.Item === 'anchor MAC');
    expect(mac?.Note).toBe(`${last.mac} (key ${keyring.currentKeyId})`);
    expect(logged.filter((l) => l.includes(`audit anchor ${last.seq}:${last.hash}`))).toHaveLength(1);
    const verified = await audit.verify({ anchor: anchorOf(book) });
    expect([verified.ok, verified.problem]).toEqual([true, null]);
  });

  it('catches the chain cut back below it, which the chain and the MACs alone no longer show', async () => {
    const latest = await service.build(DAY, 'alice');
    const anchor = anchorOf(await readWorkbook((await service.fileOf(latest.id)).path));
    const audit = new AuditService(db.dataSource, null, clock);
    // Someone with superuser rights deletes the anchored row and everything after it.
    await db.dataSource.transaction(async (m) => {
      await m.query(`SET LOCAL session_replication_role = replica`);
      await m.query(`DELETE FROM audit_log WHERE seq >= $1`, [anchor.seq]);
    });
    expect((await audit.verify()).ok).toBe(true);
    const withAnchor = await audit.verify({ anchor });
    expect([withAnchor.ok, withAnchor.firstBrokenSeq, withAnchor.problem]).toEqual([
      false,
      anchor.seq,
      'the anchored row is no longer in the chain (the chain was cut back)',
    ]);
  });
});
