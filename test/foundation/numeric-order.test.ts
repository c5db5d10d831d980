// Issue 22: `GET /breaks` answered 1, 10, 11, 2 and `/reconciliations` put runs 10 and 11 after run 2.
// The SQL said `SELECT id::text ... ORDER BY id`: in PostgreSQL a bare ORDER BY name is the OUTPUT
// column first, here the text, so ids, sequence numbers and amounts sorted as strings. This scans
// every SQL text of the product (a template literal with ORDER BY, with same-file `${CONSTANT}`
// column lists expanded) for an ORDER BY naming a column that the same SELECT answers cast to text.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { productSources, ROOT } from '../support/product-sources';

const SCOPE = ['apps/api', 'apps/worker', 'apps/cli', 'apps/demo', 'libs'];

/** Output columns made by `<column>::text` without an alias of their own (their name is the column's). */
function textOutputs(sql: string): Set<string> {
  const names = new Set<string>();
  for (const m of sql.matchAll(/(?<![\w.$])(?:\w+\.)?"?(\w+)"?::text\b(?!\s*\[)(?!\s+AS\b)/gi)) names.add(m[1].toLowerCase());
  return names;
}

/** The unqualified names of each ORDER BY list (up to LIMIT/OFFSET/FOR/a closing parenthesis or the end). */
function orderedNames(sql: string): string[] {
  const out: string[] = [];
  for (const m of sql.matchAll(/ORDER BY([\s\S]*?)(?=\bLIMIT\b|\bOFFSET\b|\bFOR\b|\)|;|$)/gi)) {
    for (const term of m[1].split(',')) {
      const bare = /^\s*"?(\w+)"?\s*(?:ASC|DESC)?\s*(?:NULLS\s+(?:FIRST|LAST))?\s*$/i.exec(term);
      if (bare) out.push(bare[1].toLowerCase());
    }
  }
  return out;
}

function textOrderedColumns(text: string): Array<{ sql: string; columns: string[] }> {
  const constants = new Map<string, string>();
  for (const m of text.matchAll(/const\s+(\w+)\s*=\s*`([^`]*)`/g)) constants.set(m[1], m[2]);
  const found: Array<{ sql: string; columns: string[] }> = [];
  for (const m of text.matchAll(/`([^`]*ORDER BY[^`]*)`/gi)) {
    const sql = m[1].replace(/\$\{(\w+)\}/g, (whole, name: string) => constants.get(name) ?? whole);
    const texts = textOutputs(sql);
    const columns = orderedNames(sql).filter((name) => texts.has(name));
    if (columns.length) found.push({ sql: sql.replace(/\s+/g, ' ').slice(0, 160), columns });
  }
  return found;
}

describe('numeric ordering', () => {
  it('finds the defect it guards against (an id answered as text and ordered by that name)', () => {
    const COLUMNS = 'const COLUMNS = `id::text, amount_centicents::text, created_at`;\n';
    expect(textOrderedColumns(COLUMNS + 'q(`SELECT ${COLUMNS} FROM recon_break ORDER BY id LIMIT $1`)')).toHaveLength(1);
    expect(textOrderedColumns('q(`SELECT amount_centicents::text FROM t ORDER BY amount_centicents DESC, id`)')[0].columns).toEqual([
      'amount_centicents',
    ]);
    expect(textOrderedColumns(COLUMNS + 'q(`SELECT ${COLUMNS} FROM recon_break ORDER BY recon_break.id`)')).toEqual([]);
    expect(textOrderedColumns('q(`SELECT id::text AS id_text FROM t ORDER BY id`)')).toEqual([]);
  });

  it('no SQL of the product orders by a column it answers as text (ids, sequence numbers and amounts sort as numbers)', () => {
    const offenders: string[] = [];
    for (const dir of SCOPE) {
      for (const file of productSources(join(ROOT, dir), /\.ts$/)) {
        for (const hit of textOrderedColumns(readFileSync(file, 'utf8')))
          offenders.push(`${relative(ROOT, file)}: ORDER BY ${hit.columns.join(', ')} in "${hit.sql}"`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
