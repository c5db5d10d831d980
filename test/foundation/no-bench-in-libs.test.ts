// Benchmarks and fault drills live in apps/bench and apps/drills; libraries carry product code only
// (bench/README.md: "no bench code in a library's src/"). The lint rules already keep libraries from
// importing an app; this guard also catches a bench or drill written inside a library.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ROOT } from '../support/product-sources';

/** Every file under `dir` (specs included), without node_modules or dist. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

const BENCH_OR_DRILL_NAME = /bench|drill/i;
/** An exported runner of a benchmark or a drill: `runReconciliationBench`, `runExecutorDrill`, ... */
const RUN_EXPORT =
  /\bexport\s+(?:async\s+)?(?:function\*?|const|let|var|class)\s+(run\w*(?:Bench|Drill)\w*)|\bexport\s*\{[^}]*\b(run\w*(?:Bench|Drill)\w*)/g;
/** An import (static, dynamic or require) of the bench or drills app, by alias or by relative path. */
const APP_IMPORT =
  /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)['"]((?:@apps\/|(?:\.\.?\/)+(?:\.\.\/)*apps\/)(?:bench|drills)\b[^'"]*)['"]/g;

/** What keeps `file` (relative path, contents) from being a library file: empty when nothing. */
function benchOrDrillFindings(file: string, text: string): string[] {
  const found: string[] = [];
  const base = file.split('/').pop() ?? file;
  if (BENCH_OR_DRILL_NAME.test(base)) found.push(`${file}: named like a bench or a drill`);
  for (const m of text.matchAll(RUN_EXPORT)) found.push(`${file}: exports ${m[1] ?? m[2]}`);
  for (const m of text.matchAll(APP_IMPORT)) found.push(`${file}: imports ${m[1]}`);
  return found;
}

describe('no bench or drill code in libraries', () => {
  it('no file under libs/ is named *bench* or *drill*, exports a run*Bench / run*Drill, or imports apps/bench or apps/drills', () => {
    const files = filesUnder(join(ROOT, 'libs'));
    expect(files.length).toBeGreaterThan(100);
    const findings = files
      .map((path) => relative(ROOT, path))
      .flatMap((file) => benchOrDrillFindings(file, /\.(ts|mts|cts|js|mjs|cjs)$/.test(file) ? readFileSync(join(ROOT, file), 'utf8') : ''));
    expect(findings).toEqual([]);
  });

  it('the guard recognises each kind of offender and passes ordinary library code', () => {
    const cases: [file: string, text: string, finding: string | null][] = [
      ['libs/ledger/src/ledger-bench.ts', '', 'named like a bench or a drill'],
      ['libs/withdrawals/src/crash-drill.spec.ts', '', 'named like a bench or a drill'],
      ['libs/x/src/a.ts', 'export async function runLedgerBench() {}', 'exports runLedgerBench'],
      ['libs/x/src/a.ts', 'export const runSenderDrill = () => 1;', 'exports runSenderDrill'],
      ['libs/x/src/index.ts', "export { runGrowthBench } from './g';", 'exports runGrowthBench'],
      ['libs/x/src/a.ts', "import { runBench } from '@apps/bench';", 'imports @apps/bench'],
      ['libs/x/src/a.ts', "import { x } from '../../../apps/drills/src/sender-drill';", 'imports ../../../apps/drills/src/sender-drill'],
      ['libs/x/src/a.ts', "const m = await import('@apps/drills');", 'imports @apps/drills'],
      [
        'libs/jobs/src/job-runner.ts',
        "import { x } from '@app/clock';\nexport async function runJob() {}\nexport function runNote() {}",
        null,
      ],
    ];
    for (const [file, text, finding] of cases) {
      expect(benchOrDrillFindings(file, text)).toEqual(finding === null ? [] : [`${file}: ${finding}`]);
    }
  });
});
