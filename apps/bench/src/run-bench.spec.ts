import { describe, expect, it } from '@jest/globals';
import { BENCHMARKS, selectBenchmarks } from './run-bench';

describe('npm run bench -- --only', () => {
  it('selects every benchmark without the option, and exactly the named ones with it', () => {
    expect([...selectBenchmarks(undefined)]).toEqual([...BENCHMARKS]);
    expect([...selectBenchmarks('ingestion, workbook')].sort()).toEqual(['ingestion', 'workbook']);
  });

  it('refuses an unknown or empty list, naming the benchmarks', () => {
    expect(() => selectBenchmarks('workbook,copy')).toThrow(
      '--only takes a comma-separated list of workbook, reconciliation, ingestion, api, console, rate-limit (got "workbook,copy")',
    );
    expect(() => selectBenchmarks(' , ')).toThrow(/--only takes/);
  });
});
