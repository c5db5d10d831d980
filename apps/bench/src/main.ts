import { resolve } from 'node:path';
import { Command } from 'commander';
import { BENCHMARKS, runBench, selectBenchmarks } from './run-bench';
import { formatTable } from './results';

const program = new Command()
  .name('bench')
  .description('Runs every benchmark beside its floor and writes bench/results.json')
  .option('--quick', 'a world 100x smaller (100 subtraders x 100 markets), within a minute', false)
  .option('--output <file>', 'results file', 'bench/results.json')
  .option('--only <names>', `run only these benchmarks, comma-separated: ${BENCHMARKS.join(', ')}`)
  .parse();

const options = program.opts<{ quick: boolean; output: string; only?: string }>();
const output = resolve(process.cwd(), options.output);
const rows = await runBench({
  quick: options.quick,
  only: selectBenchmarks(options.only),
  output,
  databaseUrl: process.env.DATABASE_URL || undefined,
  log: (line) => process.stdout.write(`${line}\n`),
});
const { machine, date, mode } = rows[0] ?? { machine: undefined, date: '', mode: '' };
process.stdout.write(`\n${formatTable(rows)}\n\n`);
if (machine) process.stdout.write(`${mode} run, ${date}, ${machine.os}, ${machine.cpus} x ${machine.cpu_model}, ${machine.total_memory_mb} MB, node ${machine.node}\n`);
process.stdout.write(`written to ${output}\n`);
// Benchmarks report; they do not gate. A failed target shows as FAIL in the table and the file.
process.exit(0);
