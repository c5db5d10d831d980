// What the quick bench tests run through the `@apps/bench` alias: the benchmarks and their rows.
export { runBench } from './run-bench';
export { GROWTH_CYCLES, MEASURED_DAYS, runGrowthBench } from './growth-bench';
export type { BenchRow } from './results';
