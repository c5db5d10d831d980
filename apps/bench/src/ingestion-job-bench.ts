import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@app/config';
import { JobRunner } from '@app/jobs';
import type { RunningKlearSimulator } from '@apps/klear-sim';
import { createWorkerApplication } from '@apps/worker';
import { openBenchDatabase } from './bench-database';
import type { Measurement } from './results';
import { runStepProcess, type StepResult, type StepTask } from './step-process';

/**
 * The scheduled `obligation_history` job itself on the benchmark's world (its start-up walk: every
 * settled cycle, each obligation's 1,000,000 settlement details and its other lists completed from the
 * paged endpoints), on a fresh database, as the worker runs it: rows stored per second of the run, and
 * the peak RSS of the worker application's process. The job runs in a Node process of its own
 * (`step-process.ts`); the simulator answers from this one, so the figure is the worker's alone.
 */
export async function benchIngestionJob(
  sim: RunningKlearSimulator,
  adminUrl: string | undefined,
  log: (line: string) => void,
): Promise<Measurement[]> {
  const database = await openBenchDatabase(adminUrl);
  const reportsDir = mkdtempSync(join(tmpdir(), 'klear-bench-reports-'));
  try {
    const run = await runStepProcess({
      kind: 'ingestion-job',
      databaseUrl: database.url,
      reportsDir,
      klear: { baseUrl: sim.url, adminUserId: sim.options.adminUserId, accessToken: sim.options.accessToken },
    });
    if (run.status !== 'succeeded')
      throw new Error(`the obligation_history run ended ${run.status}: ${String(run.error ?? '').slice(0, 300)}`);
    const [counts] = await database.dataSource.query<Array<{ obligations: number; details: number; margin: number; funding: number }>>(
      `SELECT (SELECT count(*) FROM klear_obligation)::int AS obligations, (SELECT count(*) FROM klear_settlement_detail)::int AS details,
              (SELECT count(*) FROM klear_margin_detail)::int AS margin, (SELECT count(*) FROM klear_funding_payment)::int AS funding`,
    );
    const rows = counts.details + counts.margin + counts.funding;
    log(
      `  job run: ${counts.obligations} obligations, ${counts.details} settlement details, ${counts.margin} margin rows, ${counts.funding} funding payments in ${run.seconds.toFixed(1)} s; worker process peak RSS ${run.peakRssMb} MB`,
    );
    return [
      {
        name: `ingestion job obligation_history (start-up walk): ${rows} detail rows of ${counts.obligations} obligations stored`,
        value: rows / run.seconds,
        unit: 'rows/s',
        floor: null,
        ratio: null,
        target: { on: 'value', op: '>', limit: 0 },
      },
      {
        name: `ingestion job peak RSS (the worker's process, its own; ${run.pages ?? '?'} history pages)`,
        value: run.peakRssMb,
        unit: 'MB',
        floor: null,
        ratio: null,
        target: { on: 'value', op: '<', limit: 2_048 },
      },
    ];
  } finally {
    await database.close();
    rmSync(reportsDir, { recursive: true, force: true });
  }
}

/** In the step process: the worker application on the bench database, its `obligation_history` job run to its end. */
export async function runIngestionJobStep(task: Extract<StepTask, { kind: 'ingestion-job' }>): Promise<Omit<StepResult, 'peakRssMb'>> {
  const config = loadConfig({
    NODE_ENV: 'development',
    LOG_LEVEL: 'silent',
    DATABASE_URL: task.databaseUrl,
    KLEAR_BASE_URL: task.klear.baseUrl,
    KLEAR_ADMIN_USER_ID: task.klear.adminUserId,
    KLEAR_ACCESS_TOKEN: task.klear.accessToken,
    KLEAR_TIER: 'prime',
    KLEAR_TIMEOUT_MS: '120000',
    WITHDRAWAL_OUTCOME_GRACE_SECONDS: '300',
    REPORTS_DIR: task.reportsDir,
    WORKER_JOBS_ENABLED: 'false',
  });
  const worker = await createWorkerApplication(config, { silent: true });
  try {
    const started = process.hrtime.bigint();
    const run = await worker.get(JobRunner).runToEnd('obligation_history', { trigger: 'startup' });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const details = (run?.details ?? {}) as { pages?: number };
    return { seconds, status: run?.status ?? 'none', error: run?.error ? String(run.error) : undefined, pages: details.pages };
  } finally {
    await worker.close();
  }
}
