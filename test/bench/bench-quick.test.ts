import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { testAdminUrl } from '@app/testing';
import { type BenchRow, runBench } from '@apps/bench';

describe('npm run bench --quick', () => {
  const dir = mkdtempSync(join(tmpdir(), 'klear-bench-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('measures every benchmark beside its floor and writes the same rows to results.json', async () => {
    const output = join(dir, 'results.json');
    const rows = await runBench({ quick: true, output, databaseUrl: testAdminUrl() });
    const written = JSON.parse(readFileSync(output, 'utf8')) as BenchRow[];
    expect(written).toEqual(rows);

    for (const row of rows) {
      expect(row).toMatchObject({ mode: 'quick', machine: { cpus: expect.any(Number), node: process.version } });
      expect(Number.isNaN(Date.parse(row.date))).toBe(false);
      expect(typeof row.name).toBe('string');
      expect(typeof row.unit).toBe('string');
      expect(row.target).toMatch(/^(ratio|value) (<=|<|>=|>) [0-9.]+$|;/);
      if (row.status === 'measured') {
        expect(Number.isFinite(row.value)).toBe(true);
        expect(typeof row.pass).toBe('boolean');
        if (row.floor !== null) expect(Number.isFinite(row.floor) && Number.isFinite(row.ratio)).toBe(true);
      } else {
        // Every benchmark is imported by name (apps/bench/src/run-bench.ts): a skipped row is a failure, shown with its reason.
        expect(row.reason).toBeUndefined();
      }
    }

    const measured = (prefix: string) => rows.filter((r) => r.status === 'measured' && r.name.startsWith(prefix));
    const [ingestion] = measured('ingestion:');
    expect(ingestion.name).toContain('(10000 rows from');
    expect(ingestion.value! > 0 && ingestion.floor! > 0).toBe(true);
    // The scheduled job itself ingests the world (start-up walk, completion from the paged endpoints): rows/s and peak RSS.
    const [job, rss] = measured('ingestion job ');
    expect(job.name).toMatch(/obligation_history \(start-up walk\): [0-9]+ detail rows of [0-9]+ obligations stored/);
    expect(job.value!).toBeGreaterThan(0);
    expect(rss.name).toMatch(/^ingestion job peak RSS \(the worker's process, its own; [0-9]+ history pages\)$/);
    expect(rss.unit).toBe('MB');
    expect(rss.value!).toBeGreaterThan(0);
    // The workbook and its floor are built in Node processes of their own: the peak is that process's VmHWM, not the bench's.
    const [sheet, sheetRss] = measured('workbook: ');
    expect(sheet.name).toBe('workbook: settlement details sheet, 10000 rows, vs bare exceljs');
    expect(sheet.value! > 0 && sheet.floor! > 0).toBe(true);
    expect(sheetRss.name).toBe('workbook: peak RSS of a process building 10000 rows');
    expect(sheetRss.value!).toBeGreaterThan(0);
    expect(measured('api p99: GET ').length).toBeGreaterThan(0);
    const [use, rejected] = measured('klear rate-limit');
    expect(use.floor).toBe(20);
    expect(use.ratio!).toBeGreaterThan(0);
    expect(rejected.unit).toBe('responses');
  }, 900_000); // about a minute on a quiet machine; the deadline only catches a hang (358 s were needed at load 15 for an hour beside the suite)
});
