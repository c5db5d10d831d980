// docs/invariants.md names, for every guarantee, the tests that attack it. A renamed or removed test
// would leave the guarantee a hope while the page still cites it: this holds the page to the tree.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ROOT } from '../support/product-sources';

const PAGE = readFileSync(join(ROOT, 'docs/invariants.md'), 'utf8');

/** The rows of the "At a glance" table: the guarantee's text and its cited (file, test names). */
function glanceRows(page: string): Array<{ guarantee: string; cited: Array<{ file: string; names: string[] }> }> {
  const section = page.split(/^## At a glance$/m)[1]?.split(/^## /m)[0] ?? '';
  const rows = section.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| guarantee') && !line.startsWith('| ---'));
  return rows.map((row) => {
    const [guarantee, attacks] = row.slice(2, -2).split(' | ');
    const cited: Array<{ file: string; names: string[] }> = [];
    for (const token of (attacks ?? '').matchAll(/`([^`]+\.(?:test|spec)\.ts)`|"([^"]+)"/g)) {
      if (token[1]) cited.push({ file: token[1], names: [] });
      else cited.at(-1)?.names.push(token[2]);
    }
    return { guarantee, cited };
  });
}

/** A test file's text with string escapes undone, so that a name quoted on the page is found as written. */
function sourceText(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8').replace(/\\(['"`])/g, '$1');
}

describe('docs/invariants.md', () => {
  const rows = glanceRows(PAGE);

  it('reads the at-a-glance table: every guarantee cites at least one test file and one test name', () => {
    expect(rows.length).toBeGreaterThanOrEqual(20);
    for (const row of rows) {
      expect({ guarantee: row.guarantee, files: row.cited.length > 0, named: row.cited.some((c) => c.names.length > 0) }).toEqual({
        guarantee: row.guarantee,
        files: true,
        named: true,
      });
    }
  });

  it('cites only test files that exist, each holding every test name quoted after it', () => {
    const missing: string[] = [];
    for (const { cited } of rows) {
      for (const { file, names } of cited) {
        if (!existsSync(join(ROOT, file))) {
          missing.push(`${file} (no such file)`);
          continue;
        }
        const text = sourceText(file);
        for (const name of names) if (!text.includes(name)) missing.push(`${file}: "${name}"`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('names only paths of the repository that exist', () => {
    const paths = [...PAGE.matchAll(/`((?:test|libs|apps)\/[^`\s]+\.[a-z]+)`/g)].map((m) => m[1]);
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.filter((p) => !existsSync(join(ROOT, p)))).toEqual([]);
  });
});
