import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startApiWorld, type ApiWorld } from '../support/api-world';
import { SteppedClock } from '../support/stepped-clock';
import { artefactDir, axeViolations, builtConsole, launchChromium } from '../support/browser';
import { CYCLE_1, DAY, seedReconciledDay, type SeededDay } from '../exports/reconciled-day-factory';
import { enrol, nextTotpCode, signInOnPage } from './console-people-factory';
import { formatCenticents } from '../../apps/console/src/money';

// The breaks worklist, the runs page and the workbooks page in Chromium, on a seeded reconciled day (runs and breaks
// as rows, the real workbook builder): a break worked to resolution, a workbook built and downloaded.
let ctx: ApiWorld;
let browser: Browser;
let base: string;
let seeded: SeededDay;
let exportsDir: string;
// The product's clock: real time, jumped by nextTotpCode so each sign-in has a fresh TOTP step.
const clock = new SteppedClock();
const operator = { secret: '', lastStep: 0 };

beforeAll(async () => {
  exportsDir = mkdtempSync(join(tmpdir(), 'console-exports-'));
  ctx = await startApiWorld({ EXPORTS_DIR: exportsDir, CONSOLE_DIR: builtConsole() }, { clock });
  seeded = await seedReconciledDay(ctx.db.dataSource);
  await ctx.app.listen(0, '127.0.0.1');
  base = `http://localhost:${(ctx.app.getHttpServer().address() as AddressInfo).port}`;
  operator.secret = await enrol(ctx.app, ctx.userIds.operator);
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await ctx?.close();
  if (exportsDir) rmSync(exportsDir, { recursive: true, force: true });
});

async function signedInOperator(): Promise<Page> {
  return signInOnPage(
    await (await browser.newContext({ acceptDownloads: true })).newPage(),
    base,
    'test-operator',
    nextTotpCode(clock, operator),
  );
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
  expect([after.status, after.assignee, after.resolution.reason, after.resolution.resolved_by]).toEqual([
    'resolved',
    'test-operator',
    'timing',
    'test-operator',
  ]);
  expect(after.comments.map((c: { body: string }) => c.body)).toEqual(['Klear booked the fee a cycle late']);
}, 120_000);

it("builds the day's workbook from the console and downloads it (an .xlsx: a zip file)", async () => {
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
  const listed = (await ctx.http().get('/exports').set('Authorization', `Bearer ${ctx.tokens.viewer}`)).body.data as Array<{
    date: string;
    size_bytes: number | string;
  }>;
  expect(Number(listed.find((e) => e.date === DAY)!.size_bytes)).toBe(bytes.length);
}, 120_000);

/**
 * The Runs page answers every click with something on the page: the run's line in a status, or the
 * API's refusal in an alert. Each wait is for one of the two (`or`), so a refused run fails at once
 * with the refusal's text instead of waiting out the test's timeout for a row that never comes.
 */
async function runOutcome(page: Page): Promise<string> {
  const status = page.getByRole('status').filter({ hasText: /^Run #\d+/ });
  const alert = page.getByRole('alert');
  await status.or(alert).first().waitFor();
  if (await alert.count()) throw new Error(`the run was refused: ${await alert.first().innerText()}`);
  return status.innerText();
}

it('runs a reconciliation of a chosen day and cycle from the Runs page and sees it at the top of the list; projecting without an estimate says why', async () => {
  const page = await signedInOperator();
  await page.getByRole('link', { name: 'Runs' }).click();
  await page.getByRole('heading', { name: 'Reconciliation runs', level: 1 }).waitFor();
  await page.getByLabel('Settlement day (ET, optional)').fill(DAY);
  const cycle = page.getByLabel('Cycle');
  // DAY has two cycles (16:00 and 23:30 ET): the picker lists both, the first chosen is the newest.
  await cycle.locator(`option[value="${CYCLE_1}"]`).waitFor({ state: 'attached' });
  expect(await cycle.locator('option').count()).toBe(2);
  await cycle.selectOption(CYCLE_1);
  await page.getByRole('button', { name: 'Run now' }).click();
  const line = await runOutcome(page);
  const id = /^Run #(\d+)/.exec(line)![1];
  expect(line).toContain(`(${CYCLE_1}, Crypto): succeeded`);
  const stored = (await ctx.http().get(`/reconciliations/${id}`).set('Authorization', `Bearer ${ctx.tokens.viewer}`)).body;
  expect([stored.scope, stored.cycle, stored.asset_class, stored.status, stored.created_by]).toEqual([
    'cycle',
    CYCLE_1,
    'Crypto',
    'succeeded',
    'test-operator',
  ]);
  const table = page.getByRole('table', { name: 'Reconciliation runs' });
  const top = table.getByRole('row').nth(1);
  await top.getByRole('cell', { name: `#${id}`, exact: true }).waitFor();
  expect(await top.getByRole('cell').nth(3).innerText()).toBe('Crypto');
  expect(await top.getByRole('cell').nth(4).innerText()).toBe('succeeded');
  expect(await axeViolations(page)).toEqual([]);
  await page.screenshot({ path: join(artefactDir(), 'runs-run-now-1280.png'), fullPage: true });

  // No settlement estimate in this world: the projection is refused and the page says so (no dialog, no hang).
  await page.getByRole('button', { name: 'Project the open cycle' }).click();
  await page.getByRole('alert').waitFor();
  expect(await page.getByRole('alert').innerText()).toMatch(/estimate/i);
}, 120_000);

it('compares two runs on the Runs page: the breaks new, gone and changed are those of GET /reconciliations/{a}/compare/{b}', async () => {
  const fresh = await ctx.http().post('/reconciliations').set('Authorization', `Bearer ${ctx.tokens.operator}`).send({ cycle: CYCLE_1 });
  expect(fresh.status).toBe(201);
  const [a, b] = [seeded.runIds.cycle1, fresh.body.id as string];
  const api = (await ctx.http().get(`/reconciliations/${a}/compare/${b}`).set('Authorization', `Bearer ${ctx.tokens.viewer}`)).body;
  const page = await signedInOperator();
  await page.goto(`${base}/#/runs`);
  await page.getByLabel('Run A (before)').fill(`#${a}`);
  await page.getByLabel('Run B (after)').fill(b);
  await page.getByRole('button', { name: 'Compare' }).click();
  const summary = page.getByRole('status').filter({ hasText: `Run #${a} → run #${b}` });
  await summary.or(page.getByRole('alert')).first().waitFor();
  expect(await summary.innerText()).toBe(
    `Run #${a} → run #${b}: ${api.only_in_other.length} new, ${api.only_in_run.length} gone, ${api.changed.length} changed, ${api.unchanged_count} unchanged${api.same_inputs ? ' (same inputs)' : ''}.`,
  );
  expect(api.only_in_other.length + api.only_in_run.length + api.changed.length).toBeGreaterThan(0);
  const rowsOf = async (caption: RegExp) => (await page.getByRole('table', { name: caption }).getByRole('row').count()) - 1;
  expect(await rowsOf(/^New in run/)).toBe(api.only_in_other.length);
  expect(await rowsOf(/^Gone since run/)).toBe(api.only_in_run.length);
  expect(await rowsOf(/^Changed between/)).toBe(api.changed.length);
  // Each new break links to it, its difference shown from the decimal string.
  for (const o of api.only_in_other.slice(0, 3)) {
    const row = page
      .getByRole('table', { name: /^New in run/ })
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name: `#${o.break_id}`, exact: true }) });
    expect(await row.getByRole('cell').last().innerText()).toBe(formatCenticents(o.difference_centicents));
  }
  // The pair is in the URL: a reload shows the same comparison.
  expect(page.url()).toContain(`#/runs?a=${a}&b=${b}`);
  await page.reload();
  await summary.waitFor();
  expect(await axeViolations(page)).toEqual([]);
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
    await page.screenshot({ path: join(artefactDir(), `runs-compare-${width}.png`), fullPage: true });
  }
  expect(await axeViolations(page)).toEqual([]);
}, 120_000);
