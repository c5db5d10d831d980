import { resolve } from 'node:path';
import { Command } from 'commander';
import { BENCHMARKS, runBench, selectBenchmarks } from './run-bench';
import { runGrowthBench } from './growth-bench';
import { type BenchRow, formatTable } from './results';

const program = new Command()
  .name('bench')
  .description('Runs every benchmark beside its floor and writes bench/results.json')
  .option('--quick', 'a world 100x smaller (100 subtraders x 100 markets), within a minute', false)
  .option('--output <file>', 'results file', 'bench/results.json')
  .option(
    '--growth',
    'the growth benchmark: 30 settled cycles, days 1, 10 and 30 measured against day 1 (with --quick: the 100 x 100 world)',
    false,
  )
  .option('--only <names>', `run only these benchmarks, comma-separated: ${BENCHMARKS.join(', ')}`)
  .parse();

const options = program.opts<{ quick: boolean; growth: boolean; output: string; only?: string }>();
const output = resolve(process.cwd(), options.output);
const common = {
  quick: options.quick,
  output,
  databaseUrl: process.env.DATABASE_URL || undefined,
  log: (line: string) => process.stdout.write(`${line}\n`),
};
if (options.growth && options.only) throw new Error('--growth runs its own measurements; --only does not apply');
const rows: BenchRow[] = options.growth
  ? (await runGrowthBench(common)).rows
  : await runBench({ ...common, only: selectBenchmarks(options.only) });
const { machine, date, mode } = rows[0] ?? { machine: undefined, date: '', mode: '' };
process.stdout.write(`\n${formatTable(rows)}\n\n`);
if (machine)
  process.stdout.write(
    `${mode} run, ${date}, ${machine.os}, ${machine.cpus} x ${machine.cpu_model}, ${machine.total_memory_mb} MB, node ${machine.node}\n`,
  );
process.stdout.write(`written to ${output}\n`);
// Benchmarks report; they do not gate. A failed target shows as FAIL in the table and the file.
process.exit(0);
