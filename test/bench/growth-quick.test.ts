import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { testAdminUrl } from '@app/testing';
import { type BenchRow, GROWTH_CYCLES, MEASURED_DAYS, runGrowthBench } from '@apps/bench';

// The growth benchmark's quick mode (30 cycles of the 100 x 100 world) so its code cannot rot. It
// asserts that the run completes and produces every figure, never how fast: speed targets live in
// `npm run bench -- --growth`, not in a timed test.
describe('npm run bench -- --growth --quick', () => {
  const dir = mkdtempSync(join(tmpdir(), 'klear-growth-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds 30 settled cycles and reports every day-1, day-10 and day-30 figure, each against day 1', async () => {
    const output = join(dir, 'results.json');
    const { rows, days } = await runGrowthBench({ quick: true, output, databaseUrl: testAdminUrl() });
    const statementsRecorded = await serverRecordsStatements(testAdminUrl());
    expect(JSON.parse(readFileSync(output, 'utf8')) as BenchRow[]).toEqual(rows);

    expect(days.map((d) => d.day)).toEqual([...MEASURED_DAYS]);
    const cycles = new Set(days.map((d) => d.cycle));
    expect(cycles.size).toBe(MEASURED_DAYS.length);
    const routes = Object.keys(days[0].apiP99);
    expect(routes).toEqual(
      expect.arrayContaining(['GET /subtraders', 'GET /ledger/entries', 'GET /reconciliations', 'GET /audit', 'GET /obligations']),
    );
    expect(routes.some((r) => r.startsWith('GET /reconciliations/') && r.includes('/breaks'))).toBe(true);
    for (const d of days) {
      expect(d.rows).toBe(10_000);
      expect(d.workbookDetailRows).toBe(10_000);
      // 1 subtrader in 200 carries a broken market: 100 subtraders hold no or one such break per check run.
      expect(d.reconciliationBreaks).toBeGreaterThanOrEqual(0);
      for (const figure of [
        d.ingestRowsPerSecond,
        d.copyRowsPerSecond,
        d.reconciliationSeconds,
        d.workbookSeconds,
        d.healthP99,
        d.databaseBytes,
      ]) {
        expect(Number.isFinite(figure) && figure > 0).toBe(true);
      }
      // The load-independent figure: shared buffers each phase touched (pg_stat_database), never zero.
      expect(Object.keys(d.buffers).sort()).toEqual(['ingestion', 'reconciliation', 'workbook']);
      for (const buffers of Object.values(d.buffers)) expect(Number.isInteger(buffers) && buffers > 0).toBe(true);
      expect(Object.keys(d.apiP99).sort()).toEqual([...routes].sort());
      for (const p99 of Object.values(d.apiP99)) expect(Number.isFinite(p99)).toBe(true);
      // Each route against the floor measured just before it: the row's floor and ratio are that pair's.
      expect(Object.keys(d.apiFloorP99).sort()).toEqual([...routes].sort());
      for (const route of routes) {
        const row = rows.find((r) => r.name === `growth day ${d.day}: api p99 ${route} vs GET /health/live (10 conn)`)!;
        expect(row).toMatchObject({ value: d.apiP99[route], floor: d.apiFloorP99[route] });
        expect(row.ratio).toBeCloseTo(d.apiP99[route] / Math.max(d.apiFloorP99[route], 1), 2);
      }
      // Each route's buffers per row read on its default page, where the server records statements (the test
      // suite's embedded server loads pg_stat_statements; a DATABASE_URL server may not): every route
      // reads the database for the rows it answers.
      if (statementsRecorded) {
        expect(Object.keys(d.apiBuffers).sort()).toEqual([...routes].sort());
        for (const buffers of Object.values(d.apiBuffers)) expect(Number.isFinite(buffers) && buffers >= 0).toBe(true);
        // A route with rows reads pages for them (an empty table, as /withdrawals' here, reads none).
        for (const route of ['GET /subtraders', 'GET /ledger/entries', 'GET /obligations']) expect(d.apiBuffers[route]).toBeGreaterThan(0);
      } else expect(d.apiBuffers).toEqual({});
    }
    // 27 cycles of history between the measured days: the database holds all 30.
    expect(days[2].databaseBytes).toBeGreaterThan(days[1].databaseBytes);
    expect(days[1].databaseBytes).toBeGreaterThan(days[0].databaseBytes);

    for (const row of rows) {
      expect(row).toMatchObject({ mode: 'growth-quick', status: 'measured', machine: { node: process.version } });
      expect(Number.isFinite(row.value)).toBe(true);
      if (row.target === 'reported') expect(row.pass).toBeNull();
      else expect(typeof row.pass).toBe('boolean');
    }
    const names = rows.map((r) => r.name);
    for (const day of [10, GROWTH_CYCLES]) {
      for (const figure of [
        'ingestion rows/s',
        'reconciliation run',
        'workbook of the day',
        'database size on disk',
        'api p99 GET /subtraders',
        'shared buffers touched, ingestion',
        'shared buffers touched, reconciliation',
        'shared buffers touched, workbook',
      ]) {
        expect(names.some((n) => n.startsWith(`growth day ${day} vs day 1: ${figure}`))).toBe(true);
      }
    }
    for (const day of MEASURED_DAYS) expect(names.some((n) => n.startsWith(`growth day ${day}: ingestion of the day's cycle`))).toBe(true);
    // The buffer ratios carry the flatness target; the wall-time ratios beside them are reported only.
    const buffersRatio = rows.find((r) => r.name === `growth day ${GROWTH_CYCLES} vs day 1: shared buffers touched, reconciliation`);
    expect(buffersRatio).toMatchObject({ target: 'ratio <= 1.2' });
    expect(buffersRatio!.ratio! > 0).toBe(true);
    const wallRatio = rows.find((r) => r.name.startsWith(`growth day ${GROWTH_CYCLES} vs day 1: reconciliation run`));
    expect(wallRatio).toMatchObject({ target: 'reported', pass: null });
    // The same for the API: buffers per row read carry the target, p99 against day 1 is reported.
    if (statementsRecorded)
      expect(
        rows.find((r) => r.name === `growth day ${GROWTH_CYCLES} vs day 1: api GET /subtraders, shared buffers a row read (default page)`),
      ).toMatchObject({
        target: 'ratio <= 1.2',
      });
    expect(rows.find((r) => r.name === `growth day ${GROWTH_CYCLES} vs day 1: api p99 GET /subtraders`)).toMatchObject({
      target: 'reported',
      pass: null,
    });
    const perCycle = rows.find((r) => r.name.startsWith('growth: disk per cycle'));
    expect(perCycle!.value! > 0).toBe(true);
  }, 1_200_000); // the deadline only catches a hang
});

async function serverRecordsStatements(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ libraries: string }>('SELECT current_setting($1) AS libraries', ['shared_preload_libraries']);
    return rows[0].libraries.split(',').some((l) => l.trim() === 'pg_stat_statements');
  } finally {
    await client.end();
  }
}
