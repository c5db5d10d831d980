// `npm run bench:import-memory`: peak RSS of a real API process (its /proc VmHWM) while it imports
// the issue #14 zip bomb and maximal legitimate files at the default limits. The API runs as its own
// child process (dist/), on a throwaway embedded PostgreSQL; figures are printed, not asserted.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort, startThrowawayPostgres } from '@app/db';
import { writeXlsxBomb } from '@app/testing';

const HEADER =
  'external_id,entry_type,effective_at,cycle,subtrader_id,business_reference,description,reverses_external_id,account,market_ticker,amount_centicents';
const CYCLE = '2026-11-05T21:00:00Z';

function peakRssMb(pid: number): { peak: number; now: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { peak: Math.round(kb('VmHWM') / 1024), now: Math.round(kb('VmRSS') / 1024) };
}

async function waitFor(url: string, deadlineMs: number): Promise<void> {
  const until = performance.now() + deadlineMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (performance.now() > until) throw new Error(`${url} did not answer`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'klear-import-memory-'));
  const pg = await startThrowawayPostgres({ prefix: 'klear-import-memory-pg' });
  let api: ChildProcess | undefined;
  try {
    const databaseUrl = pg.adminUrl;
    const port = await freeLoopbackPort();
    const env = {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DATABASE_URL: databaseUrl,
      API_PORT: String(port),
      UPLOADS_DIR: join(dir, 'uploads'),
      API_EXPENSIVE_ROUTE_LIMIT: '1000',
    };
    api = spawn(process.execPath, [...(process.env.BENCH_API_NODE_OPTIONS ?? '').split(' ').filter(Boolean), 'dist/apps/api/src/main.js'], {
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(`${base}/health/ready`, 120_000);
    const created = execFileSync(
      process.execPath,
      ['dist/apps/cli/src/main.js', 'users:create', '--name', 'bench-operator', '--roles', 'operator'],
      { env, encoding: 'utf8' },
    );
    const token = created.trim().split('\n').at(-1)!;
    const pid = api.pid!;
    process.stdout.write(`API pid ${pid} started: RSS ${peakRssMb(pid).now} MB (peak ${peakRssMb(pid).peak} MB)\n`);

    const upload = async (label: string, path: string, name: string) => {
      const t = performance.now();
      const form = new FormData();
      form.append('file', new Blob([readFileSync(path)]), name);
      const res = await fetch(`${base}/ledger/imports`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
      const body = (await res.json()) as { code?: string; status?: string; created?: number; rows?: number; details?: { rows?: number } };
      const rss = peakRssMb(pid);
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
    process.stdout.write(`peak RSS of the API over the whole run: ${peakRssMb(pid).peak} MB\n`);
  } finally {
    api?.kill('SIGTERM');
    await pg.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
