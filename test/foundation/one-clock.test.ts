// Issue 12: every reading of "now" in the product goes through the injected Clock (libs/clock), so a
// test chooses the instant on both sides and nothing depends on the day the code runs. This greps the
// product's sources so that no direct reading of the machine's clock comes back.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { productSources as sources, ROOT } from '../support/product-sources';

/** The product: the API, the worker, the CLI, the demo, the simulator's server, the bench, the fault drills and every library. */
const SCOPE = ['apps/api', 'apps/worker', 'apps/cli', 'apps/demo', 'apps/klear-sim/src', 'apps/bench', 'apps/drills', 'libs'];
/** The clock provider itself is the one place allowed to read the machine's clock. */
const ALLOWED = ['libs/clock/'];

/** Direct clock readings: Date.now (called or passed), new Date() / Date() without an argument, luxon's now/local/utc without one. */
const READINGS: Array<[string, RegExp]> = [
  ['Date.now', /\bDate\.now\b/],
  ['new Date()', /\bnew Date\(\s*\)/],
  ['Date()', /(?<![\w.])Date\(\s*\)/],
  ['luxon DateTime.now/local/utc()', /\bDateTime\.(now|local|utc)\(\s*\)/],
  ['luxon Settings.now', /\bSettings\.now\b/],
];

/** Drops comments so that prose may name what the code must not do. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

describe('one clock', () => {
  it('finds the forbidden patterns where they are (the grep itself works)', () => {
    const sample =
      'a = Date.now(); b = new Date(); c = Date(); d = DateTime.now(); e = DateTime.local(); f = [1].map(Date.now); g = new Date(0);';
    expect(READINGS.filter(([, re]) => re.test(sample)).map(([name]) => name)).toEqual([
      'Date.now',
      'new Date()',
      'Date()',
      'luxon DateTime.now/local/utc()',
    ]);
    expect(READINGS.some(([, re]) => re.test('new Date(ms); DateTime.local(2026, 3, 8); clock.now(); performance.now()'))).toBe(false);
  });

  it('no product source reads the machine clock outside libs/clock', () => {
    const files = SCOPE.flatMap((dir) => sources(join(ROOT, dir)));
    expect(files.length).toBeGreaterThan(100);
    const found: string[] = [];
    for (const file of files) {
      const rel = relative(ROOT, file);
      if (ALLOWED.some((prefix) => rel.startsWith(prefix))) continue;
      code(readFileSync(file, 'utf8'))
        .split('\n')
        .forEach((line, i) => {
          for (const [name, re] of READINGS) if (re.test(line)) found.push(`${rel}:${i + 1}: ${name}: ${line.trim()}`);
        });
    }
    expect(found).toEqual([]);
  });
});
