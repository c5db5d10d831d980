// A benchmark step in a Node process of its own (apps/bench/src/step-process.ts starts it): runs the
// task given as its one argument, then prints one JSON line, the step's figures and this process's
// peak RSS (VmHWM).
import { rmSync } from 'node:fs';
import { processRssMb } from './api-process';
import type { StepResult, StepTask } from './step-process';

// Each task imports what it uses only (the worker application is not the workbook's memory).

async function run(task: StepTask): Promise<Omit<StepResult, 'peakRssMb'>> {
  switch (task.kind) {
    case 'workbook': {
      const { bareWrite, buildSettlementDetailsSheet } = await import('./workbook-bench');
      const { createDataSource } = await import('@app/db');
      // Warm the JIT and exceljs on a small slice first, as the floor does, so neither pays start-up alone.
      await bareWrite(`${task.path}.warm`, task.warmRows, task.markets);
      rmSync(`${task.path}.warm`, { force: true });
      const dataSource = createDataSource({ url: task.databaseUrl, poolSize: 2, applicationName: 'klear-bench-workbook' });
      await dataSource.initialize();
      try {
        const started = process.hrtime.bigint();
        const rows = await buildSettlementDetailsSheet(dataSource, task.path);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        if (rows !== task.expectedRows) throw new Error(`built ${rows} rows, expected ${task.expectedRows}`);
        return { seconds, rows };
      } finally {
        await dataSource.destroy();
      }
    }
    case 'workbook-floor': {
      const { bareWrite } = await import('./workbook-bench');
      await bareWrite(`${task.path}.warm`, task.warmRows, task.markets);
      rmSync(`${task.path}.warm`, { force: true });
      const started = process.hrtime.bigint();
      const rows = await bareWrite(task.path, task.rows, task.markets);
      return { seconds: Number(process.hrtime.bigint() - started) / 1e9, rows };
    }
    case 'ingestion-job':
      return (await import('./ingestion-job-bench')).runIngestionJobStep(task);
  }
}

const task = JSON.parse(process.argv[2] ?? '') as StepTask;
const result = await run(task);
const line = JSON.stringify({ ...result, peakRssMb: processRssMb(process.pid).peak } satisfies StepResult);
process.stdout.write(`${line}\n`, () => process.exit(0));
