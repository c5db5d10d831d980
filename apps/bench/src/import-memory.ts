// `npm run bench:import-memory`: peak RSS of a real API process (its /proc VmHWM) while it imports
// the issue #14 zip bomb and maximal legitimate files at the default limits. The API runs as its own
// child process (dist/), on a throwaway embedded PostgreSQL; figures are printed, not asserted.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startThrowawayPostgres } from '@app/db';
import { writeXlsxBomb } from '@app/testing';
import { type ApiProcess, startApiProcess } from './api-process';

const HEADER =
  'external_id,entry_type,effective_at,cycle,subtrader_id,business_reference,description,reverses_external_id,account,market_ticker,amount_centicents';
const CYCLE = '2026-11-05T21:00:00Z';

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'klear-import-memory-'));
  const pg = await startThrowawayPostgres({ prefix: 'klear-import-memory-pg' });
  let api: ApiProcess | undefined;
  try {
    api = await startApiProcess({
      databaseUrl: pg.adminUrl,
      env: { LOG_LEVEL: 'warn', UPLOADS_DIR: join(dir, 'uploads'), API_EXPENSIVE_ROUTE_LIMIT: '1000' },
      nodeOptions: (process.env.BENCH_API_NODE_OPTIONS ?? '').split(' ').filter(Boolean),
    });
    const base = api.origin;
    const token = await api.serviceToken('bench-operator', ['operator']);
    const peakRssMb = api.rssMb;
    process.stdout.write(`API pid ${api.pid} started: RSS ${peakRssMb().now} MB (peak ${peakRssMb().peak} MB)\n`);

    const upload = async (label: string, path: string, name: string) => {
      const t = performance.now();
      const form = new FormData();
      form.append('file', new Blob([readFileSync(path)]), name);
      const res = await fetch(`${base}/ledger/imports`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
      const body = (await res.json()) as { code?: string; status?: string; created?: number; rows?: number; details?: { rows?: number } };
      const rss = peakRssMb();
      process.stdout.write(
        `${label.padEnd(44)} ${String(statSync(path).size).padStart(10)} B -> HTTP ${res.status} ${body.code ?? body.status} ` +
          `(${((performance.now() - t) / 1000).toFixed(1)} s); API RSS now ${rss.now} MB, peak so far ${rss.peak} MB\n`,
      );
    };

    const bomb = join(dir, 'bomb.xlsx');
    const bombSize = await writeXlsxBomb(bomb, { rows: 1_000_000, constant: true });
    process.stdout.write(`zip bomb: ${bombSize.compressedBytes} B packed, ${bombSize.uncompressedBytes} B unpacked\n`);
    await upload('XLSX zip bomb, 1,000,000 rows', bomb, 'bomb.xlsx');

    const rows = (prefix: string, n: number) =>
      Array.from({ length: n }, (_, i) => {
        const entry = Math.floor(i / 2);
        return i % 2 === 0
          ? `${prefix}-${entry},margin_requirement,${CYCLE},${CYCLE},ST-${entry % 10000},,,,maintenance_margin,,${100 + entry}`
          : `${prefix}-${entry},margin_requirement,${CYCLE},${CYCLE},ST-${entry % 10000},,,,maintenance_margin_contra,,-${100 + entry}`;
      });
    const csv = join(dir, 'max.csv');
    writeFileSync(csv, `${HEADER}\n${rows('CSV', 200_000).join('\n')}\n`);
    await upload('CSV, 200,000 valid rows (LEDGER_IMPORT_MAX_ROWS)', csv, 'max.csv');

    const xlsx = join(dir, 'max.xlsx');
    await writeXlsxBomb(xlsx, { rows: 200_000 });
    await upload('XLSX, 200,000 valid rows', xlsx, 'max.xlsx');

    const bad = join(dir, 'bad.csv');
    writeFileSync(
      bad,
      `${HEADER}\n${rows('BAD', 200_000)
        .map((r) => r.replace(/,(-?\d+)$/, ',$1.5'))
        .join('\n')}\n`,
    );
    await upload('CSV, 200,000 invalid rows', bad, 'bad.csv');
    process.stdout.write(`peak RSS of the API over the whole run: ${peakRssMb().peak} MB\n`);
  } finally {
    await api?.stop();
    await pg.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
