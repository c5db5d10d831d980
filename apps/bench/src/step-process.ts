import { benchSecretsEnv } from './bench-key';
import { spawn } from 'node:child_process';

/**
 * A benchmark step that reports a peak RSS runs in a Node process of its own
 * (`dist/apps/bench/src/step-main.js`, built with the rest of `dist`; paths are from the repository
 * root, the working directory of every npm script). In the bench's process its peak would be the
 * simulator's world, the world generator and the heap earlier benchmarks left behind (V8 keeps freed
 * pages), not the step's: the same workbook build read 327-342 MB there and 276-279 MB in a run of its
 * own (bench/README). The step process's VmHWM is what a process doing only that work needs.
 */
export type StepTask =
  /** The product's Settlement details sheet of the bench day, from the database, into `path`. */
  | { kind: 'workbook'; databaseUrl: string; path: string; expectedRows: number; warmRows: number; markets: number }
  /** The floor: bare exceljs streaming the same rows into `path`. */
  | { kind: 'workbook-floor'; path: string; rows: number; warmRows: number; markets: number }
  /** The scheduled `obligation_history` job's start-up walk, through the worker application as deployed. */
  | {
      kind: 'ingestion-job';
      databaseUrl: string;
      reportsDir: string;
      klear: { baseUrl: string; adminUserId: string; accessToken: string };
    };

export interface StepResult {
  seconds: number;
  /** Rows written (workbook steps). */
  rows?: number;
  /** The job run's end (ingestion job): status, error and the history pages it walked. */
  status?: string;
  error?: string;
  pages?: number;
  /** The step process's peak resident memory over its whole life (VmHWM, MB): start-up and warm-up included. */
  peakRssMb: number;
}

const STEP_MAIN = 'dist/apps/bench/src/step-main.js';

/** Runs `task` in a fresh Node process and answers what it reported; a failed step throws with its stderr. */
export function runStepProcess(task: StepTask): Promise<StepResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [STEP_MAIN, JSON.stringify(task)], {
      env: { ...process.env, ...benchSecretsEnv(), NODE_ENV: process.env.NODE_ENV ?? 'development', LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return reject(new Error(`the ${task.kind} step process ended ${signal ?? code}: ${stderr.trim() || '(no output)'}`));
      try {
        resolve(JSON.parse(last) as StepResult);
      } catch {
        reject(new Error(`the ${task.kind} step process reported no result: ${last.slice(0, 300)}`));
      }
    });
  });
}
