import { existsSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DataSource } from 'typeorm';
import type { Measurement } from './results';

/** What the harness hands a capability's own bench helper. */
export interface BenchHelperContext {
  dataSource: DataSource;
  databaseUrl: string;
  subtraders: number;
  markets: number;
  quick: boolean;
}

type HelperOutcome = { measurements: Measurement[] } | { skipped: string };

/**
 * Runs `libs/<lib>/src/bench*.ts` (bench*.js once built) when the capability provides one: it
 * exports a function taking a BenchHelperContext and answering Measurement[] (or one Measurement).
 * Without one, the row is reported skipped with that reason rather than made up here.
 */
export async function runCapabilityHelper(lib: string, context: BenchHelperContext): Promise<HelperOutcome> {
  const here = import.meta.url;
  const extension = here.endsWith('.ts') ? '.ts' : '.js';
  // apps/bench/src -> libs (source) or dist/apps/bench/src -> dist/libs (built): same depth.
  const dir = resolve(new URL('.', here).pathname, '../../../libs', lib, 'src');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('bench') && f.endsWith(extension) && !f.includes('.spec.') && !f.endsWith('.d.ts')) : [];
  if (files.length === 0) return { skipped: `no bench helper in libs/${lib}/src (bench*${extension})` };
  const measurements: Measurement[] = [];
  for (const file of files.sort()) {
    const module = (await import(pathToFileURL(join(dir, file)).href)) as Record<string, unknown>;
    // `runBench` is the agreed entry point; otherwise the first run*/bench* export.
    const entry =
      typeof module.runBench === 'function'
        ? (['runBench', module.runBench] as [string, unknown])
        : Object.entries(module).find(([name, value]) => typeof value === 'function' && /^(run|bench)/i.test(name));
    if (!entry) return { skipped: `libs/${lib}/src/${basename(file)} exports no run*/bench* function` };
    const result = (await (entry[1] as (c: BenchHelperContext) => Promise<unknown>)(context)) as unknown;
    const list = Array.isArray(result) ? result : [result];
    for (const item of list) {
      if (!isMeasurement(item)) return { skipped: `libs/${lib}/src/${basename(file)}: ${entry[0]}() answered an unrecognised shape` };
      measurements.push(item);
    }
  }
  return { measurements };
}

function isMeasurement(value: unknown): value is Measurement {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Partial<Measurement>;
  return typeof m.name === 'string' && typeof m.value === 'number' && typeof m.unit === 'string'
    && typeof m.target === 'object' && m.target !== null && typeof m.target.limit === 'number';
}
