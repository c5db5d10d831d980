import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import ExcelJS from 'exceljs';
import { startApiWorld, type ApiWorld } from '../support/api-world';
import { DAY, seedReconciledDay } from './reconciled-day-factory';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
let ctx: ApiWorld;
let dir: string;

/** supertest buffers a binary body only when asked. */
const binary = (res: NodeJS.ReadableStream & { setEncoding(e: string): void }, done: (e: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => done(null, Buffer.concat(chunks)));
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'klear-exports-api-'));
  ctx = await startApiWorld({ EXPORTS_DIR: dir });
  await seedReconciledDay(ctx.db.dataSource);
});

afterAll(async () => {
  await ctx?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('exports API', () => {
  it("lets an operator build a day's workbook and answers with its row", async () => {
    const res = await ctx.http().post('/exports').set('Authorization', `Bearer ${ctx.tokens.operator}`).send({ date: DAY }).expect(201);
    expect(res.body).toMatchObject({
      date: DAY,
      version: 1,
      file_name: `klear-recon-${DAY}.xlsx`,
      created_by: 'test-operator',
      download_url: `/exports/${res.body.id}/file`,
    });
    expect(res.body.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(res.body.row_counts).toMatchObject({ 'Settlement details': 8, Breaks: 2 });
  });

  it('refuses building to viewers and approvers, and to callers without a token', async () => {
    for (const role of ['viewer', 'approver', 'admin'] as const) {
      const res = await ctx.http().post('/exports').set('Authorization', `Bearer ${ctx.tokens[role]}`).send({ date: DAY });
      expect([role, res.status]).toEqual([role, 403]);
    }
    await ctx.http().post('/exports').send({ date: DAY }).expect(401);
    await ctx.http().get('/exports').expect(401);
    expect(await ctx.db.count('export_file')).toBe(1);
  });

  it('refuses a malformed date, an impossible date and a future date, naming the field', async () => {
    const post = (body: unknown) =>
      ctx
        .http()
        .post('/exports')
        .set('Authorization', `Bearer ${ctx.tokens.operator}`)
        .send(body as object);
    const bad = await post({ date: '10/03/2026' }).expect(400);
    expect(JSON.stringify(bad.body.details)).toContain('date');
    await post({ date: '2026-02-30' }).expect(400);
    await post({}).expect(400);
    const future = await post({ date: '2999-01-01' }).expect(422);
    expect(future.body.code).toBe('EXPORT_DATE_IN_FUTURE');
    expect(await ctx.db.count('export_file')).toBe(1);
  });

  it('makes a rebuild version 2 with a -v2 download name, and lists newest first with a cursor', async () => {
    const res = await ctx.http().post('/exports').set('Authorization', `Bearer ${ctx.tokens.operator}`).send({ date: DAY }).expect(201);
    expect([res.body.version, res.body.file_name]).toEqual([2, `klear-recon-${DAY}-v2.xlsx`]);
    const page1 = await ctx.http().get('/exports?limit=1').set('Authorization', `Bearer ${ctx.tokens.viewer}`).expect(200);
    expect(page1.body.data.map((e: { version: number }) => e.version)).toEqual([2]);
    const page2 = await ctx
      .http()
      .get(`/exports?limit=1&cursor=${page1.body.next_cursor}`)
      .set('Authorization', `Bearer ${ctx.tokens.viewer}`)
      .expect(200);
    expect([page2.body.data.map((e: { version: number }) => e.version), page2.body.next_cursor]).toEqual([[1], null]);
    const forged = Buffer.from(JSON.stringify(["x'); DROP TABLE export_file; --", 1])).toString('base64url');
    await ctx.http().get(`/exports?cursor=${forged}`).set('Authorization', `Bearer ${ctx.tokens.viewer}`).expect(400);
  });

  it("streams the file to a viewer with the xlsx content type and the day's file name, byte for byte what was recorded", async () => {
    const list = await ctx.http().get('/exports').set('Authorization', `Bearer ${ctx.tokens.viewer}`).expect(200);
    for (const entry of list.body.data as Array<{ id: string; file_name: string; size_bytes: string; sha256: string }>) {
      const res = await ctx
        .http()
        .get(`/exports/${entry.id}/file`)
        .set('Authorization', `Bearer ${ctx.tokens.viewer}`)
        .buffer(true)
        .parse(binary as never)
        .expect(200);
      expect(res.headers['content-type']).toBe(XLSX);
      expect(res.headers['content-disposition']).toBe(`attachment; filename="${entry.file_name}"`);
      const body = res.body as Buffer;
      expect(String(body.length)).toBe(entry.size_bytes);
      const { createHash } = await import('node:crypto');
      expect(createHash('sha256').update(body).digest('hex')).toBe(entry.sha256);
      const workbook = new ExcelJS.Workbook();
      await workbook.xlsx.load(body as unknown as ArrayBuffer);
      expect(workbook.worksheets.map((s) => s.name)).toContain('Settlement details');
    }
  });

  it('answers 404 for an unknown export and 400 for an id that is not a uuid', async () => {
    await ctx
      .http()
      .get('/exports/00000000-0000-4000-8000-000000000000/file')
      .set('Authorization', `Bearer ${ctx.tokens.viewer}`)
      .expect(404);
    await ctx.http().get('/exports/..%2F..%2Fetc%2Fpasswd/file').set('Authorization', `Bearer ${ctx.tokens.viewer}`).expect(400);
  });

  it('exposes the daily_workbook job to the jobs API', async () => {
    const res = await ctx.http().get('/jobs').set('Authorization', `Bearer ${ctx.tokens.viewer}`).expect(200);
    expect(JSON.stringify(res.body)).toContain('daily_workbook');
  });
});
