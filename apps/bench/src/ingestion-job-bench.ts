import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@app/config';
import { JobRunner } from '@app/jobs';
import type { RunningKlearSimulator } from '@apps/klear-sim';
import { createWorkerApplication } from '@apps/worker';
import { openBenchDatabase } from './bench-database';
import type { Measurement } from './results';

/**
 * The scheduled `obligation_history` job itself on the benchmark's world (its start-up walk: every
 * settled cycle, each obligation's 1,000,000 settlement details and its other lists completed from the
 * paged endpoints), on a fresh database, as the worker runs it: rows stored per second of the run,
 * and the peak RSS of this process while it ran (sampled every 100 ms; the simulator answers from
 * this same process, so its share is included).
 */
export async function benchIngestionJob(
  sim: RunningKlearSimulator,
  adminUrl: string | undefined,
  log: (line: string) => void,
): Promise<Measurement[]> {
  const database = await openBenchDatabase(adminUrl);
  const reportsDir = mkdtempSync(join(tmpdir(), 'klear-bench-reports-'));
  const config = loadConfig({
    NODE_ENV: 'development',
    LOG_LEVEL: 'silent',
    DATABASE_URL: database.url,
    KLEAR_BASE_URL: sim.url,
    KLEAR_ADMIN_USER_ID: sim.options.adminUserId,
    KLEAR_ACCESS_TOKEN: sim.options.accessToken,
    KLEAR_TIER: 'prime',
    KLEAR_TIMEOUT_MS: '120000',
    WITHDRAWAL_OUTCOME_GRACE_SECONDS: '300',
    REPORTS_DIR: reportsDir,
    WORKER_JOBS_ENABLED: 'false',
  });
  const worker = await createWorkerApplication(config, { silent: true });
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  try {
    const started = process.hrtime.bigint();
    const run = await worker.get(JobRunner).runToEnd('obligation_history', { trigger: 'startup' });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    peak = Math.max(peak, process.memoryUsage().rss);
    if (run?.status !== 'succeeded')
      throw new Error(`the obligation_history run ended ${run?.status}: ${String(run?.error ?? '').slice(0, 300)}`);
    const [counts] = await database.dataSource.query<Array<{ obligations: number; details: number; margin: number; funding: number }>>(
      `SELECT (SELECT count(*) FROM klear_obligation)::int AS obligations, (SELECT count(*) FROM klear_settlement_detail)::int AS details,
              (SELECT count(*) FROM klear_margin_detail)::int AS margin, (SELECT count(*) FROM klear_funding_payment)::int AS funding`,
    );
    const rows = counts.details + counts.margin + counts.funding;
    const details = run.details as { pages?: number; detail_pages?: number };
    log(
      `  job run: ${counts.obligations} obligations, ${counts.details} settlement details, ${counts.margin} margin rows, ${counts.funding} funding payments in ${seconds.toFixed(1)} s`,
    );
    const peakMb = peak / 1_048_576;
    return [
      {
        name: `ingestion job obligation_history (start-up walk): ${rows} detail rows of ${counts.obligations} obligations stored`,
        value: rows / seconds,
        unit: 'rows/s',
        floor: null,
        ratio: null,
        target: { on: 'value', op: '>', limit: 0 },
      },
      {
        name: `ingestion job peak RSS (bench process, simulator included; ${details.pages ?? '?'} history pages)`,
        value: peakMb,
        unit: 'MB',
        floor: null,
        ratio: null,
        target: { on: 'value', op: '<', limit: 2_048 },
      },
    ];
  } finally {
    clearInterval(sampler);
    await worker.close();
    await database.close();
    rmSync(reportsDir, { recursive: true, force: true });
  }
}
