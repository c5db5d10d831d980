import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ApiWorld, startApiWorld } from '../support/api-world';
import { auth } from './ledger-factory';

/** Issue 22: what an import answers about a bad file, and the list of past imports. */
const HEADER =
  'external_id,entry_type,effective_at,cycle,subtrader_id,business_reference,description,reverses_external_id,account,market_ticker,amount_centicents';
const CYCLE = '2026-11-05T21:00:00Z';
const margin = (id: string, amount: string, contra = `-${amount}`) => [
  `${id},margin_requirement,${CYCLE},${CYCLE},ST-1,,,,maintenance_margin,,${amount}`,
  `${id},margin_requirement,${CYCLE},${CYCLE},ST-1,,,,maintenance_margin_contra,,${contra}`,
];
const csv = (...rows: string[]) => Buffer.from([HEADER, ...rows].join('\n') + '\n');

describe('ledger import answers', () => {
  let ctx: ApiWorld;
  const upload = (file: Buffer, name: string, query: Record<string, string> = {}) =>
    ctx.http().post('/ledger/imports').query(query).set(auth(ctx.tokens.operator)).attach('file', file, name);

  beforeAll(async () => {
    ctx = await startApiWorld();
  });
  afterAll(async () => ctx.close());

  it('says a negative decimal amount is not a whole number of centicents (not a spreadsheet formula), and counts the one bad entry once', async () => {
    const res = await upload(csv(...margin('MM-OK', '100'), ...margin('MM-BAD', '12.50', '-12.50')), 'decimal.csv');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('LEDGER_IMPORT_REJECTED');
    expect(res.body.details).toMatchObject({ status: 'rejected', entries: 2, created: 0, rejected_entries: 1, rejected_row_count: 2 });
    const rows = res.body.details.rejected_rows as Array<{ line: number; code: string; reason: string }>;
    expect(rows.map((r) => [r.line, r.code])).toEqual([
      [4, 'INVALID_VALUE'],
      [5, 'INVALID_VALUE'],
    ]);
    for (const r of rows) {
      expect(r.reason).toMatch(/amount_centicents/);
      expect(r.reason).not.toMatch(/formula/);
    }
    expect(await ctx.db.count('journal_entry')).toBe(0);
    // a real formula is still refused as one
    const formula = await upload(csv(...margin('MM-F', '-1+2', '1')), 'formula.csv');
    expect(formula.body.details.rejected_rows[0]).toMatchObject({ code: 'FORMULA_INJECTION' });
  });

  it('lists every import attempt newest first, refused ones included, a page at a time', async () => {
    const ok = await upload(csv(...margin('MM-LIST-1', '300')), 'first.csv');
    expect(ok.status).toBe(200);
    const refused = await upload(csv(...margin('MM-LIST-2', 'abc')), 'second.csv');
    expect(refused.status).toBe(400);
    const all: Array<{ import_id: string; file_name: string; status: string; created_by: string }> = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { data: typeof all; next_cursor: string | null } } = await ctx
        .http()
        .get(`/ledger/imports?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        .set(auth(ctx.tokens.viewer));
      expect(page.status).toBe(200);
      all.push(...page.body.data);
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(all.map((i) => i.file_name)).toEqual(['second.csv', 'first.csv', 'formula.csv', 'decimal.csv']);
    expect(all.map((i) => i.status)).toEqual(['rejected', 'imported', 'rejected', 'rejected']);
    expect(all[1]).toMatchObject({ import_id: ok.body.import_id, created_by: 'test-operator' });
    expect((await ctx.http().get('/ledger/imports?cursor=bm9uc2Vuc2U').set(auth(ctx.tokens.viewer))).status).toBe(400);
  });
});
