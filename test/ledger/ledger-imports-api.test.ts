import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ApiWorld, startApiWorld } from '../support/api-world';
import { auth, ledgerCsv, ledgerXlsx } from './ledger-factory';

const CYCLE = '2026-11-05T21:00:00Z';
const margin = (id: string, subtrader: string, amount: string, contra = `-${amount}`, description = '') => [
  `${id},margin_requirement,${CYCLE},${CYCLE},${subtrader},,${description},,maintenance_margin,,${amount}`,
  `${id},margin_requirement,${CYCLE},${CYCLE},${subtrader},,${description},,maintenance_margin_contra,,${contra}`,
];
const csv = ledgerCsv;
const xlsx = ledgerXlsx;

describe('POST /ledger/imports', () => {
  let ctx: ApiWorld;
  const upload = (file: Buffer, name: string, query: Record<string, string> = {}, token = ctx.tokens.operator) =>
    ctx.http().post('/ledger/imports').query(query).set(auth(token)).attach('file', file, name);
  const written = async () => ({ entries: await ctx.db.count('journal_entry'), postings: await ctx.db.count('journal_posting') });

  beforeAll(async () => {
    ctx = await startApiWorld();
  });
  afterAll(async () => ctx.close());

  it('imports the documented example file, records the import, and re-importing it changes nothing', async () => {
    const file = readFileSync(new URL('../../docs/ledger-import-example.csv', import.meta.url));
    const res = await upload(file, 'ledger-import-example.csv');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'imported',
      format: 'csv',
      rows: 12,
      entries: 4,
      created: 4,
      unchanged: 0,
      rejected_entries: 0,
      rejected_rows: [],
    });
    expect(res.body.sha256).toBe(createHash('sha256').update(file).digest('hex'));
    expect(await written()).toEqual({ entries: 4, postings: 12 });
    const again = await upload(file, 'copy.csv');
    expect(again.body).toMatchObject({ status: 'imported', created: 0, unchanged: 4 });
    expect(await written()).toEqual({ entries: 4, postings: 12 });
    const imports = (await ctx.db.dataSource.query(
      `SELECT status, created_count, unchanged_count, size_bytes FROM ledger_import ORDER BY created_at`,
    )) as Array<Record<string, unknown>>;
    expect(imports).toEqual([
      { status: 'imported', created_count: 4, unchanged_count: 0, size_bytes: String(file.length) },
      { status: 'imported', created_count: 0, unchanged_count: 4, size_bytes: String(file.length) },
    ]);
    const entry = await ctx.http().get('/ledger/entries').query({ external_id: 'TS-20261103-ST-00001' }).set(auth(ctx.tokens.viewer));
    expect(entry.body.data[0]).toMatchObject({ import_id: res.body.import_id, subtrader_id: 'ST-00001' });
    expect(await ctx.db.count(`audit_log WHERE action = 'ledger.import.imported'`)).toBe(2);
  });

  it('rejects a file with invalid rows naming each line and reason, and imports nothing', async () => {
    const before = await written();
    const res = await upload(
      csv(
        ...margin('MM-A', 'ST-1', '100'),
        `MM-B,margin_requirement,${CYCLE},${CYCLE},ST-2,,,,maintenance_margin,,12.5`,
        `MM-B,margin_requirement,${CYCLE},${CYCLE},ST-2,,,,maintenance_margin_contra,,-12`,
        ...margin('MM-C', 'ST-3', '70', '-69'),
        `MM-D,margin_requirement,${CYCLE},${CYCLE},ST-4,,,,petty_cash,,5`,
        `MM-D,margin_requirement,${CYCLE},${CYCLE},ST-4,,,,maintenance_margin_contra,,-5`,
      ),
      'bad.csv',
    );
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('LEDGER_IMPORT_REJECTED');
    expect(res.body.details).toMatchObject({ status: 'rejected', created: 0, rows: 8 });
    expect(
      res.body.details.rejected_rows.map((r: { line: number; code: string; external_id: string }) => [r.line, r.external_id, r.code]),
    ).toEqual([
      [4, 'MM-B', 'INVALID_VALUE'],
      [6, 'MM-C', 'UNBALANCED_ENTRY'],
      [8, 'MM-D', 'INVALID_VALUE'],
    ]);
    expect(res.body.details.rejected_rows[0].reason).toMatch(/^amount_centicents: "12.5" is not a whole number of centicents/);
    expect(await written()).toEqual(before);
    expect(await ctx.db.count(`ledger_import WHERE status = 'rejected'`)).toBe(1);
  });

  it('refuses formula-injection cells such as =HYPERLINK(...), but not a plain negative amount', async () => {
    const before = await written();
    const res = await upload(
      csv(...margin('MM-F', 'ST-5', '100', '-100', '"=HYPERLINK(""http://evil.example"",""click"")"')),
      'formula.csv',
    );
    expect(res.status).toBe(400);
    expect(res.body.details.rejected_rows).toEqual([
      {
        line: 2,
        external_id: 'MM-F',
        code: 'FORMULA_INJECTION',
        reason: 'description: starts with "=": refused as a possible spreadsheet formula',
      },
      {
        line: 3,
        external_id: 'MM-F',
        code: 'FORMULA_INJECTION',
        reason: 'description: starts with "=": refused as a possible spreadsheet formula',
      },
    ]);
    const others = await upload(csv(`X-1,margin_requirement,${CYCLE},${CYCLE},@ST,,,,maintenance_margin,,+5`), 'others.csv');
    expect(others.body.details.rejected_rows.map((r: { reason: string }) => r.reason)).toEqual([
      'subtrader_id: starts with "@": refused as a possible spreadsheet formula',
      'amount_centicents: starts with "+": refused as a possible spreadsheet formula',
    ]);
    expect(await written()).toEqual(before);
  });

  it('with partial=true imports the valid entries and rejects whole every entry having an invalid row', async () => {
    const res = await upload(
      csv(...margin('MM-P1', 'ST-6', '300'), ...margin('MM-P2', 'ST-7', '200', '-200', '@SUM(A1)'), ...margin('MM-P3', 'ST-8', '9')),
      'partial.csv',
      {
        partial: 'true',
      },
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'partially_imported', entries: 3, created: 2, rejected_entries: 1, rejected_row_count: 2 });
    expect(res.body.rejected_rows.map((r: { line: number; code: string }) => [r.line, r.code])).toEqual([
      [4, 'FORMULA_INJECTION'],
      [5, 'FORMULA_INJECTION'],
    ]);
    const listed = await ctx.http().get('/ledger/entries').query({ cycle: CYCLE }).set(auth(ctx.tokens.viewer));
    expect(listed.body.data.map((e: { external_id: string }) => e.external_id)).toEqual(['MM-P1', 'MM-P3']);
  });

  it('rows of an entry rejected only in part are all reported in a partial import', async () => {
    const res = await upload(
      csv(...margin('MM-Q1', 'ST-9', '40'), `MM-Q1,margin_requirement,${CYCLE},${CYCLE},ST-9,,,,bank,,0`),
      'rows.csv',
      { partial: 'true' },
    );
    expect(res.status).toBe(400);
    expect(res.body.details.rejected_rows.map((r: { line: number; code: string }) => [r.line, r.code])).toEqual([
      [2, 'ENTRY_REJECTED'],
      [3, 'ENTRY_REJECTED'],
      [4, 'NOT_ALLOWED'],
    ]);
  });

  it('imports an XLSX workbook, reading whole-number cells as centicents', async () => {
    const file = await xlsx([
      ['MM-X1', 'margin_requirement', CYCLE, CYCLE, 'ST-10', null, null, null, 'maintenance_margin', null, 123456789],
      ['MM-X1', 'margin_requirement', CYCLE, CYCLE, 'ST-10', null, null, null, 'maintenance_margin_contra', null, '-123456789'],
    ]);
    const res = await upload(file, 'entries.xlsx');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ format: 'xlsx', status: 'imported', created: 1, rows: 2 });
    const listed = await ctx.http().get('/ledger/entries').query({ external_id: 'MM-X1' }).set(auth(ctx.tokens.viewer));
    expect(listed.body.data[0].postings.map((p: { amount_centicents: string }) => p.amount_centicents)).toEqual([
      '123456789',
      '-123456789',
    ]);
  });

  it('refuses XLSX formula, date and fractional cells with their row numbers', async () => {
    const before = await written();
    const file = await xlsx([
      [
        'MM-X2',
        'margin_requirement',
        CYCLE,
        CYCLE,
        'ST-11',
        null,
        { formula: 'HYPERLINK("http://evil.example","click")', result: 'click' },
        null,
        'maintenance_margin',
        null,
        '5',
      ],
      [
        'MM-X2',
        'margin_requirement',
        new Date('2026-11-05T21:00:00Z'),
        CYCLE,
        'ST-11',
        null,
        null,
        null,
        'maintenance_margin_contra',
        null,
        -4.5,
      ],
    ]);
    const res = await upload(file, 'bad.xlsx');
    expect(res.status).toBe(400);
    expect(
      res.body.details.rejected_rows.map((r: { line: number; code: string; reason: string }) => [r.line, r.code, r.reason.split(':')[0]]),
    ).toEqual([
      [2, 'FORMULA_INJECTION', 'description'],
      [3, 'INVALID_VALUE', 'effective_at'],
      [3, 'INVALID_VALUE', 'amount_centicents'],
      [3, 'INCONSISTENT_ROWS', 'effective_at'],
    ]);
    expect(await written()).toEqual(before);
  });

  it('refuses unknown and missing columns before reading any row', async () => {
    const res = await upload(
      Buffer.from('external_id,entry_type,effective_at,account,colour\nA,adjustment,2026-11-05T21:00:00Z,bank,red\n'),
      'header.csv',
    );
    expect(res.status).toBe(400);
    expect(res.body.details.rejected_rows).toEqual([
      {
        line: 1,
        external_id: null,
        code: 'INVALID_HEADER',
        reason: expect.stringContaining('unknown column(s): "colour"; missing required column(s): amount_centicents'),
      },
    ]);
  });

  it('refuses a file that is neither CSV nor XLSX, a missing file part, and a viewer', async () => {
    expect((await upload(Buffer.from([0, 1, 2, 3, 0]), 'x.bin')).body.code).toBe('LEDGER_IMPORT_UNSUPPORTED_FILE');
    const none = await ctx.http().post('/ledger/imports').set(auth(ctx.tokens.operator)).field('note', 'no file');
    expect(none.status).toBe(400);
    const viewer = await upload(csv(...margin('MM-V', 'ST-12', '1')), 'v.csv', {}, ctx.tokens.viewer);
    expect(viewer.status).toBe(403);
    expect(await ctx.db.count(`journal_entry WHERE external_id = 'MM-V'`)).toBe(0);
  });
});

describe('POST /ledger/imports with a small size limit', () => {
  let ctx: ApiWorld;
  beforeAll(async () => {
    ctx = await startApiWorld({ LEDGER_IMPORT_MAX_BYTES: '4096' });
  });
  afterAll(async () => ctx.close());

  const bigCsv = (rows: number) => csv(...Array.from({ length: rows }, (_, i) => margin(`MM-BIG-${i}`, 'ST-1', String(i + 1))).flat());

  it('answers 413 for a file over the limit, while streaming it, books nothing and records the refusal', async () => {
    const file = bigCsv(100); // ~18 KB: under the Content-Length shortcut, caught by the streaming limit
    expect(file.length).toBeGreaterThan(4096);
    const res = await ctx.http().post('/ledger/imports').set(auth(ctx.tokens.operator)).attach('file', file, 'big.csv');
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'LEDGER_IMPORT_TOO_LARGE', details: { max_bytes: 4096 } });
    expect(await ctx.db.count('journal_entry')).toBe(0);
    expect(await ctx.db.count(`ledger_import WHERE status = 'refused' AND refusal_code = 'LEDGER_IMPORT_TOO_LARGE'`)).toBe(1);
  });

  it('answers 413 from the declared Content-Length without reading the body', async () => {
    const file = bigCsv(600); // ~110 KB
    const res = await ctx
      .http()
      .post('/ledger/imports')
      .set(auth(ctx.tokens.operator))
      .attach('file', file, 'huge.csv')
      .catch((e: { response?: unknown }) => e.response);
    expect(res).toMatchObject({ status: 413, body: { code: 'LEDGER_IMPORT_TOO_LARGE' } });
    expect(await ctx.db.count('journal_entry')).toBe(0);
  });

  it('still imports a file under the limit', async () => {
    const res = await ctx.http().post('/ledger/imports').set(auth(ctx.tokens.operator)).attach('file', bigCsv(3), 'small.csv');
    expect(res.status).toBe(200);
    expect(res.body.created).toBe(3);
  });
});
