import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createApiTestContext, type ApiTestContext } from '../support/api-context';
import { SteppedClock } from '../support/stepped-clock';
import { artefactDir, axeViolations, builtConsole, launchChromium } from '../support/browser';
import { DAY, seedReconciledDay, type SeededDay } from '../exports/reconciled-day-factory';
import { enrol, nextTotpCode, PASSWORD } from './console-people';

// The breaks worklist and the workbooks page in Chromium, on a seeded reconciled day (runs and breaks
// as rows, the real workbook builder): a break worked to resolution, a workbook built and downloaded.
let ctx: ApiTestContext;
let browser: Browser;
let base: string;
let seeded: SeededDay;
// The product's clock: real time, jumped by nextTotpCode so each sign-in has a fresh TOTP step.
const clock = new SteppedClock();
const operator = { secret: '', lastStep: 0 };

beforeAll(async () => {
  ctx = await createApiTestContext({ EXPORTS_DIR: mkdtempSync(join(tmpdir(), 'console-exports-')), CONSOLE_DIR: builtConsole() }, { clock });
  seeded = await seedReconciledDay(ctx.db.dataSource);
  await ctx.app.listen(0, '127.0.0.1');
  base = `http://localhost:${(ctx.app.getHttpServer().address() as AddressInfo).port}`;
  operator.secret = await enrol(ctx.app, ctx.userIds.operator);
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await ctx?.close();
});

async function signedInOperator(): Promise<Page> {
  const page = await (await browser.newContext({ acceptDownloads: true })).newPage();
  await page.goto(`${base}/`);
  await page.getByLabel('Username').fill('test-operator');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Authenticator code').fill(nextTotpCode(clock, operator));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Approval queue' }).waitFor();
  return page;
}

it('works a break to resolution: open it from the worklist, acknowledge, assign, comment, resolve as timing', async () => {
  const page = await signedInOperator();
  const id = seeded.breakIds.carriedOver; // open, settlement_buffer
  await page.getByRole('link', { name: 'Breaks' }).click();
  await page.getByRole('heading', { name: 'Breaks worklist', level: 1 }).waitFor();
  await page.getByRole('link', { name: `#${id}`, exact: true }).click();
  await page.getByRole('heading', { name: `Break #${id}` }).waitFor();
  expect(await axeViolations(page)).toEqual([]);
  await page.getByRole('button', { name: 'Acknowledge' }).click();
  await page.getByText('acknowledged', { exact: true }).waitFor();
  await page.getByLabel('Assignee').fill('test-operator');
  await page.getByRole('button', { name: 'Assign', exact: true }).click();
  await page.getByLabel('Comment').fill('Klear booked the fee a cycle late');
  await page.getByRole('button', { name: 'Add comment' }).click();
  await page.getByText('Klear booked the fee a cycle late').waitFor();
  await page.getByLabel('Resolve as').selectOption('timing');
  await page.getByLabel('Note').fill('clears next cycle');
  await page.getByRole('button', { name: 'Resolve' }).click();
  await page.getByText('resolved', { exact: true }).waitFor();
  await page.screenshot({ path: join(artefactDir(), 'break-resolved-1280.png'), fullPage: true });
  const after = (await ctx.http().get(`/breaks/${id}`).set('Authorization', `Bearer ${ctx.tokens.viewer}`)).body;
  expect([after.status, after.assignee, after.resolution.reason, after.resolution.resolved_by]).toEqual(['resolved', 'test-operator', 'timing', 'test-operator']);
  expect(after.comments.map((c: { body: string }) => c.body)).toEqual(['Klear booked the fee a cycle late']);
}, 120_000);

it('builds the day\'s workbook from the console and downloads it (an .xlsx: a zip file)', async () => {
  const page = await signedInOperator();
  await page.getByRole('link', { name: 'Workbooks' }).click();
  await page.getByLabel('Settlement day').fill(DAY);
  await page.getByRole('button', { name: 'Build now' }).click();
  const link = page.getByRole('link', { name: `klear-recon-${DAY}.xlsx` }).first();
  await link.waitFor({ timeout: 60_000 });
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const path = await download.path();
  const bytes = readFileSync(path);
  expect(download.suggestedFilename()).toBe(`klear-recon-${DAY}.xlsx`);
  expect(bytes.subarray(0, 2).toString('latin1')).toBe('PK');
  const listed = (await ctx.http().get('/exports').set('Authorization', `Bearer ${ctx.tokens.viewer}`)).body.data as Array<{ date: string; size_bytes: number | string }>;
  expect(Number(listed.find((e) => e.date === DAY)!.size_bytes)).toBe(bytes.length);
}, 120_000);
