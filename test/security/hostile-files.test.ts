// Issue #14, confirmed items 1 and 3: hostile and oversized ledger files. Every file up to the limits
// gets a 2xx or a 4xx naming what is wrong, never a 500 or a dead process; every attempt, refused
// ones included, leaves an import record and an audit row.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { UploadsDirectory } from '@apps/api';
import { type ApiWorld, startApiWorld, testConfig } from '../support/api-world';
import { auth } from '../ledger/ledger-factory';
import { writeXlsxBomb } from '@app/testing';

const HEADER =
  'external_id,entry_type,effective_at,cycle,subtrader_id,business_reference,description,reverses_external_id,account,market_ticker,amount_centicents';
const CYCLE = '2026-11-05T21:00:00Z';

let ctx: ApiWorld;
/** The same API with small limits, so that files just over them stay small. */
let small: ApiWorld;
let dir: string;
const uploadTo = (c: ApiWorld, file: Buffer | string, name: string) =>
  c
    .http()
    .post('/ledger/imports')
    .set(auth(c.tokens.operator))
    .attach('file', typeof file === 'string' ? Buffer.from(file) : file, name);
const upload = (file: Buffer | string, name: string) => uploadTo(ctx, file, name);
const importsOf = async (c: ApiWorld) =>
  (await c.db.dataSource.query(`SELECT status, refusal_code, file_name FROM ledger_import ORDER BY created_at, id`)) as Array<{
    status: string;
    refusal_code: string | null;
    file_name: string;
  }>;
const auditActionsOf = async (c: ApiWorld) =>
  (
    (await c.db.dataSource.query(`SELECT action FROM audit_log WHERE entity_type = 'ledger_import' ORDER BY seq`)) as Array<{
      action: string;
    }>
  ).map((r) => r.action);
const imports = () => importsOf(ctx);
const auditActions = () => auditActionsOf(ctx);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'klear-hostile-files-'));
  ctx = await startApiWorld({
    LEDGER_IMPORT_MAX_ROWS: '250000',
    LEDGER_IMPORT_MAX_UNCOMPRESSED_BYTES: String(200 * 1024 * 1024),
    UPLOADS_DIR: join(dir, 'uploads'),
  });
  small = await startApiWorld({
    LEDGER_IMPORT_MAX_ROWS: '1000',
    LEDGER_IMPORT_MAX_UNCOMPRESSED_BYTES: String(4 * 1024 * 1024),
    LEDGER_IMPORT_MAX_BYTES: String(1024 * 1024),
    UPLOADS_DIR: join(dir, 'uploads-small'),
  });
}, 60_000);

afterAll(async () => {
  await ctx?.close();
  await small?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('an XLSX zip bomb', () => {
  it('of 1,000,000 rows (about 1 MB packed) is refused with 413 naming the uncompressed limit, recorded and audited', async () => {
    const path = join(dir, 'bomb.xlsx');
    const bomb = await writeXlsxBomb(path, { rows: 1_000_000, constant: true });
    expect(bomb.uncompressedBytes).toBeGreaterThan(250 * 1024 * 1024);
    expect(statSync(path).size).toBeLessThan(3 * 1024 * 1024);
    const before = await ctx.db.count('journal_entry');
    const res = await upload(readFileSync(path), 'bomb.xlsx');
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({
      code: 'LEDGER_IMPORT_UNCOMPRESSED_TOO_LARGE',
      details: { limit: 'LEDGER_IMPORT_MAX_UNCOMPRESSED_BYTES', max: 200 * 1024 * 1024 },
    });
    expect(await ctx.db.count('journal_entry')).toBe(before);
    expect((await imports()).at(-1)).toEqual({
      status: 'refused',
      refusal_code: 'LEDGER_IMPORT_UNCOMPRESSED_TOO_LARGE',
      file_name: 'bomb.xlsx',
    });
    expect((await auditActions()).at(-1)).toBe('ledger.import.refused');
  }, 600_000);

  it('whose zip headers understate its size is refused as unreadable, not inflated past what it declared', async () => {
    const path = join(dir, 'liar.xlsx');
    await writeXlsxBomb(path, { rows: 800, lieAboutSizes: true });
    const res = await uploadTo(small, readFileSync(path), 'liar.xlsx');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('LEDGER_IMPORT_REJECTED');
    expect(res.body.details.rejected_rows[0]).toMatchObject({ code: 'UNREADABLE_FILE' });
    expect((await importsOf(small)).at(-1)).toMatchObject({ status: 'rejected', file_name: 'liar.xlsx' });
  });

  it('within the uncompressed limit but over LEDGER_IMPORT_MAX_ROWS is stopped at the row limit with 413 naming it', async () => {
    const path = join(dir, 'rows.xlsx');
    await writeXlsxBomb(path, { rows: 1001 });
    const res = await uploadTo(small, readFileSync(path), 'rows.xlsx');
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'LEDGER_IMPORT_TOO_MANY_ROWS', details: { limit: 'LEDGER_IMPORT_MAX_ROWS', max: 1000 } });
    expect((await importsOf(small)).at(-1)).toMatchObject({ status: 'refused', refusal_code: 'LEDGER_IMPORT_TOO_MANY_ROWS' });
    // One row fewer is a legitimate file at the limit: imported.
    await writeXlsxBomb(path, { rows: 1000 });
    const atLimit = await uploadTo(small, readFileSync(path), 'at-limit.xlsx');
    expect(atLimit.status).toBe(200);
    expect(atLimit.body).toMatchObject({ status: 'imported', rows: 1000, created: 500 });
  });
});

describe('a large CSV import', () => {
  it('of 200,000 invalid rows answers 400 with the first 1,000 rejected rows and a complete downloadable report, recorded and audited', async () => {
    const rows = Array.from(
      { length: 200_000 },
      (_, i) => `BAD-${i},margin_requirement,${CYCLE},${CYCLE},ST-1,,,,maintenance_margin,,12.5`,
    );
    const res = await upload(`${HEADER}\n${rows.join('\n')}\n`, 'bad-200k.csv');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('LEDGER_IMPORT_REJECTED');
    const report = res.body.details;
    expect(report).toMatchObject({ status: 'rejected', rows: 200_000, rejected_row_count: 200_000, rejected_rows_truncated: true });
    expect(report.rejected_rows).toHaveLength(1000);
    expect(report.rejected_rows[0]).toMatchObject({ line: 2, external_id: 'BAD-0', code: 'INVALID_VALUE' });
    expect(report.rejections_report).toBe(`/ledger/imports/${report.import_id}/rejections`);

    const csv = await ctx
      .http()
      .get(report.rejections_report)
      .set(auth(ctx.tokens.viewer))
      .buffer(true)
      .parse((r, done) => {
        let text = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (text += c));
        r.on('end', () => done(null, text));
      });
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = (csv.body as string).trimEnd().split('\r\n');
    expect(lines).toHaveLength(200_001);
    expect(lines[0]).toBe('line,external_id,code,reason');
    expect(lines[200_000]).toMatch(/^200001,BAD-199999,INVALID_VALUE,/);

    const record = await ctx.http().get(`/ledger/imports/${report.import_id}`).set(auth(ctx.tokens.viewer));
    expect(record.body).toMatchObject({ status: 'rejected', rows: 200_000, rejected_row_count: 200_000, created: 0 });
    expect((await auditActions()).at(-1)).toBe('ledger.import.rejected');
    // A generous deadline, not a speed target: 200,000 rows take about a minute on an idle 2-core machine.
  }, 600_000);

  it('over LEDGER_IMPORT_MAX_ROWS is refused with 413 naming the limit, and recorded', async () => {
    const rows = Array.from({ length: 1001 }, (_, i) => `OK-${i},margin_requirement,${CYCLE},${CYCLE},ST-1,,,,maintenance_margin,,1`);
    const res = await uploadTo(small, `${HEADER}\n${rows.join('\n')}\n`, 'too-many.csv');
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'LEDGER_IMPORT_TOO_MANY_ROWS', details: { limit: 'LEDGER_IMPORT_MAX_ROWS', max: 1000 } });
    expect((await importsOf(small)).at(-1)).toMatchObject({
      status: 'refused',
      refusal_code: 'LEDGER_IMPORT_TOO_MANY_ROWS',
      file_name: 'too-many.csv',
    });
  });

  it('over LEDGER_IMPORT_MAX_BYTES is refused with 413 while streaming, recorded and audited as refused', async () => {
    const before = (await importsOf(small)).length;
    const res = await uploadTo(small, Buffer.alloc(2 * 1024 * 1024, 0x61), 'huge.csv');
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('LEDGER_IMPORT_TOO_LARGE');
    const after = await importsOf(small);
    expect(after).toHaveLength(before + 1);
    expect(after.at(-1)).toMatchObject({ status: 'refused', refusal_code: 'LEDGER_IMPORT_TOO_LARGE' });
    expect((await auditActionsOf(small)).at(-1)).toBe('ledger.import.refused');
  });

  it('that is neither CSV nor XLSX is refused with 400 and still recorded', async () => {
    const res = await uploadTo(small, Buffer.from([0x00, 0x01, 0x02, 0x03]), 'binary.bin');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('LEDGER_IMPORT_UNSUPPORTED_FILE');
    expect((await importsOf(small)).at(-1)).toMatchObject({
      status: 'refused',
      refusal_code: 'LEDGER_IMPORT_UNSUPPORTED_FILE',
      file_name: 'binary.bin',
    });
  });
});

describe('uploads on disk', () => {
  it('are written mode 0600 in a 0700 UPLOADS_DIR, and those left by a stopped process are removed at start-up', async () => {
    const uploads = join(dir, 'uploads-start');
    const finished = spawnSync(process.execPath, ['-e', '0']);
    const deadPid = finished.pid;
    mkdirSync(uploads, { recursive: true, mode: 0o755 });
    writeFileSync(join(uploads, `klear-upload-${deadPid}-0123456789abcdef01234567`), 'left by a crash', { mode: 0o644 });
    writeFileSync(join(uploads, `klear-upload-${process.pid}-0123456789abcdef01234567`), 'ours, in flight');
    writeFileSync(join(uploads, 'unrelated.txt'), 'not ours');
    const directory = new UploadsDirectory(testConfig({ UPLOADS_DIR: uploads }));
    await directory.onModuleInit();
    expect(statSync(uploads).mode & 0o777).toBe(0o700);
    expect(readdirSync(uploads).sort()).toEqual([`klear-upload-${process.pid}-0123456789abcdef01234567`, 'unrelated.txt']);

    const stored = await new Promise<{ path?: string; size?: number }>((resolve, reject) =>
      directory
        .storage()
        ._handleFile({} as never, { stream: Readable.from([Buffer.from('a,b\n')]) } as never, (error, info) =>
          error ? reject(error) : resolve(info ?? {}),
        ),
    );
    expect(stored.size).toBe(4);
    expect(statSync(stored.path!).mode & 0o777).toBe(0o600);
  });
});
