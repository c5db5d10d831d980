import { startKlearSimulator } from '@apps/klear-sim';
import { benchApiLatency } from './api-bench';
import { simulatorClient } from './bench-database';
import { benchConsole } from './console-bench';
import { openBenchDatabase } from './bench-database';
import { benchIngestionVsCopy, benchPagingAtBasic } from './ingestion-bench';
import { benchIngestionJob } from './ingestion-job-bench';
import { benchRateLimitUse } from './rate-limit-bench';
import { benchReconciliation } from './reconciliation-bench';
import { type BenchMode, type BenchRow, machineFacts, type Measurement, measuredRow, type Skip, skippedRow, writeResults } from './results';
import { benchDailyWorkbook } from './workbook-bench';
import { systemClock } from '@app/clock';

/** The benchmarks, in the order they run (`npm run bench -- --only <names>` picks some). */
export const BENCHMARKS = ['workbook', 'reconciliation', 'ingestion', 'api', 'console', 'rate-limit'] as const;
export type BenchmarkName = (typeof BENCHMARKS)[number];

/** `--only` as given (comma-separated names) to the benchmarks it selects; every one when absent. */
export function selectBenchmarks(only: string | undefined): Set<BenchmarkName> {
  if (only === undefined) return new Set(BENCHMARKS);
  const names = only
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(BENCHMARKS as readonly string[]).includes(n));
  if (unknown.length || names.length === 0)
    throw new Error(`--only takes a comma-separated list of ${BENCHMARKS.join(', ')} (got "${only}")`);
  return new Set(names as BenchmarkName[]);
}

export interface BenchOptions {
  quick: boolean;
  /** The benchmarks to run (default: all of them). */
  only?: Set<BenchmarkName>;
  /** Where results.json goes; none: not written. */
  output?: string;
  /** PostgreSQL server to create the bench database on; none: a throwaway embedded one. */
  databaseUrl?: string;
  log?: (line: string) => void;
}

export interface BenchPlan {
  subtraders: number;
  markets: number;
  rateLimitPages: number;
  api: { connections: number; durationSeconds: number; rounds: number };
}

export function benchPlan(mode: BenchMode): BenchPlan {
  return mode === 'quick'
    ? { subtraders: 100, markets: 100, rateLimitPages: 40, api: { connections: 10, durationSeconds: 1, rounds: 1 } }
    : { subtraders: 10_000, markets: 100, rateLimitPages: 2_000, api: { connections: 10, durationSeconds: 5, rounds: 3 } };
}

/** Builds the benchmark world, runs every benchmark beside its floor, and answers the rows. */
export async function runBench(options: BenchOptions): Promise<BenchRow[]> {
  const mode: BenchMode = options.quick ? 'quick' : 'full';
  const plan = benchPlan(mode);
  const log = options.log ?? (() => undefined);
  const selected = options.only ?? new Set(BENCHMARKS);
  const shared = { machine: machineFacts(), date: systemClock.now().toISOString(), mode };
  const rows: BenchRow[] = [];
  const measured = (list: Measurement[]) => list.forEach((m) => rows.push(measuredRow(m, shared)));
  const skipped = (s: Skip) => rows.push(skippedRow(s, shared));
  const guarded = async (skip: Omit<Skip, 'reason'>, work: () => Promise<void>) => {
    const started = performance.now();
    log(`- ${skip.name} ...`);
    try {
      await work();
    } catch (error) {
      skipped({ ...skip, reason: `failed: ${(error as Error).message}` });
    }
    log(`  done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  };

  log(
    `bench (${mode}): world ${plan.subtraders} subtraders x ${plan.markets} markets = ${plan.subtraders * plan.markets} detail rows per cycle`,
  );
  const database = await openBenchDatabase(options.databaseUrl);
  log(`database: ${database.origin}`);
  const sim = await startKlearSimulator({
    port: 0,
    rateLimit: false,
    seed: 8,
    subtraders: plan.subtraders,
    markets: plan.markets,
    days: 2,
    withdrawalFailureRate: 0,
  });
  try {
    const client = simulatorClient(sim);
    const world = {
      dataSource: database.dataSource,
      databaseUrl: database.url,
      subtraders: plan.subtraders,
      markets: plan.markets,
      quick: options.quick,
    };
    // The workbook and the ingestion job report peak RSS of processes of their own (step-process.ts),
    // so the order of the benchmarks does not move those figures.
    if (selected.has('workbook'))
      await guarded({ name: 'workbook vs bare exceljs (+ peak RSS)', unit: 's', target: 'ratio <= 1.3; peak RSS < 300 MB' }, async () => {
        measured(await benchDailyWorkbook(world));
      });
    if (selected.has('reconciliation'))
      await guarded({ name: 'reconciliation vs bare SQL join', unit: 's', target: 'ratio <= 1.5' }, async () => {
        measured(await benchReconciliation(world));
      });

    if (selected.has('ingestion')) {
      await guarded({ name: 'ingestion: settlement details', unit: 'rows/s', target: 'ratio <= 3' }, async () => {
        measured([await benchIngestionVsCopy(client, database.dataSource, database.url)]);
      });
      // The scheduled job itself on the same world (no shortcut: its walk, completion, archive, store).
      await guarded({ name: 'ingestion job obligation_history', unit: 'rows/s', target: 'value > 0; peak RSS < 2048 MB' }, async () => {
        measured(await benchIngestionJob(sim, options.databaseUrl, log));
      });
      // Paging the whole obligation at tier basic: 1,000 pages of 1,000 in full, 40 pages of 250 quick.
      await guarded({ name: 'ingestion paging at tier basic', unit: 'pages/s', target: 'ratio >= 0.9' }, async () => {
        measured(await benchPagingAtBasic({ subtraders: plan.subtraders, markets: plan.markets }, options.quick ? 250 : 1_000));
      });
    }

    if (selected.has('api'))
      await guarded({ name: 'api p99', unit: 'ms', target: 'ratio <= 3' }, async () => {
        const { rows: latency, absent } = await benchApiLatency(database.url, plan.api);
        if (absent.length) log(`  routes not (yet) answering 200, left out: ${absent.join(', ')}`);
        if (latency.length === 0) skipped({ name: 'api p99', unit: 'ms', target: 'ratio <= 3', reason: 'no main read route answered 200' });
        measured(latency);
      });

    if (selected.has('console'))
      await guarded({ name: 'console TTI and bundle', unit: 'ms', target: 'value < 1500; bundle < 350 kB gzip' }, async () => {
        measured(
          await benchConsole({
            dataSource: database.dataSource,
            databaseUrl: database.url,
            consoleDir: process.env.CONSOLE_DIR ?? 'dist/console',
            klear: { baseUrl: sim.url, adminUserId: sim.options.adminUserId, accessToken: sim.options.accessToken },
            log,
          }),
        );
      });

    if (selected.has('rate-limit'))
      await guarded({ name: 'klear rate-limit use', unit: 'reads/s', target: 'ratio >= 0.9' }, async () => {
        measured(await benchRateLimitUse(plan.rateLimitPages));
      });
  } finally {
    await sim.close();
    await database.close();
  }

  if (options.output) writeResults(options.output, rows);
  return rows;
}
