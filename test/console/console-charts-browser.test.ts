import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { startApiWorld, type ApiWorld } from '../support/api-world';
import { SteppedClock } from '../support/stepped-clock';
import { artefactDir, axeViolations, builtConsole, launchChromium } from '../support/browser';
import { HUGE_PNL, seedReconciledDay } from '../exports/reconciled-day-factory';
import { enrol, nextTotpCode, signInOnPage } from './console-people-factory';
import { formatCenticents } from '../../apps/console/src/money';
import { etDate, etDateDaysBefore, refreshLatestFigures } from '@app/ingestion';

// The console's charts (ECharts) on a seeded reconciled day: each is an image with a description and
// the same figures in a table, read here against the API's decimal strings (exact beyond 2^53).
let ctx: ApiWorld;
let browser: Browser;
let base: string;
const clock = new SteppedClock();
const viewer = { secret: '', lastStep: 0 };

/**
 * 27 days ending on the product's today (ET): a balance pull and one cycle a day (16:00 ET), the
 * obligation alternately payable and receivable, ST-A trading in each; amounts vary by day so the
 * charts have a shape and each table row has its own figures. With the seeded day's three cycles,
 * they are the 30 cycles the Subtrader chart shows.
 */
async function seedMonth(): Promise<void> {
  const today = etDate(clock.now());
  for (let i = 0; i < 27; i++) {
    const date = etDateDaysBefore(today, i);
    const at = (hhmm: string) => ({ sql: `($1::date + time '${hhmm}') AT TIME ZONE 'America/New_York'`, date });
    const balance = 50_000_000_000n + BigInt(i) * 1_234_567_891n;
    const pnl = (i % 3 === 0 ? -1n : 1n) * (3_000_000_000n + BigInt(i) * 123_456_789n);
    const margin = 20_000_000_000n + BigInt(i % 7) * 2_500_000_000n;
    const id = `ob-month-${date}`;
    await ctx.db.dataSource.query(
      `INSERT INTO klear_balance_snapshot (pulled_at, user_id, available_centicents, locked_centicents, archive_id) VALUES (${at('12:00').sql}, 'scm', $2, $3, 1)`,
      [date, balance.toString(), '25000000000'],
    );
    await ctx.db.dataSource.query(
      `INSERT INTO klear_obligation (id, user_id, amount_centicents, fees_centicents, maintenance_margin_centicents, pnl_centicents, execution_time, last_updated_ts,
                                     content_sha256, settlement_detail_count, first_pulled_at, pulled_at, archive_id)
       VALUES ($2, 'scm', $3, 0, $4, $3, ${at('16:00').sql}, ${at('16:00').sql}, md5($2), 1, now(), now(), 1)`,
      [date, id, pnl.toString(), margin.toString()],
    );
    await ctx.db.dataSource.query(
      `INSERT INTO klear_settlement_detail (obligation_id, id, market_ticker, subtrader_id, pnl_centicents, fees_centicents, total_centicents, cycle) VALUES ($1, $2, 'MKT-X', 'ST-A', $3, 0, $3, (SELECT execution_time FROM klear_obligation WHERE id = $1))`,
      [id, `${id}-d`, pnl.toString()],
    );
    await ctx.db.dataSource.query(
      `INSERT INTO klear_margin_detail (obligation_id, id, subtrader_id, maintenance_margin_centicents, maintenance_margin_delta_centicents, cycle) VALUES ($1, $2, 'ST-A', $3, 0, (SELECT execution_time FROM klear_obligation WHERE id = $1))`,
      [id, `${id}-m`, margin.toString()],
    );
  }
  // As ingestion leaves it (upsertObligation): the latest cycle's figures of GET /subtraders.
  await refreshLatestFigures(ctx.db.dataSource, null);
}

beforeAll(async () => {
  ctx = await startApiWorld({ CONSOLE_DIR: builtConsole() }, { clock });
  await seedReconciledDay(ctx.db.dataSource);
  await seedMonth();
  await ctx.app.listen(0, '127.0.0.1');
  base = `http://localhost:${(ctx.app.getHttpServer().address() as AddressInfo).port}`;
  viewer.secret = await enrol(ctx.app, ctx.userIds.viewer);
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await ctx?.close();
});

const signedIn = async (): Promise<Page> =>
  signInOnPage(await (await browser.newContext()).newPage(), base, 'test-viewer', nextTotpCode(clock, viewer));
const api = async (path: string) => (await ctx.http().get(path).set('Authorization', `Bearer ${ctx.tokens.viewer}`)).body;

/** The chart's figures table, opened from its "as a table" disclosure, as rows of cell texts. */
async function figures(chart: Locator): Promise<string[][]> {
  await chart.getByText('The figures as a table').click();
  const rows = chart.getByRole('table').getByRole('row');
  await rows.nth(1).waitFor();
  const out: string[][] = [];
  for (let i = 1; i < (await rows.count()); i++) out.push((await rows.nth(i).locator('th, td').allInnerTexts()).map((t) => t.trim()));
  return out;
}

async function checkBothWidths(page: Page, name: string): Promise<void> {
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(artefactDir(), `${name}-${width}.png`), fullPage: true });
  }
}

it('Today: a 30-day chart of the buffer against obligations, drawn (SVG) and described, its table the figures of GET /settlement/buffer-by-day', async () => {
  const page = await signedIn();
  await page.goto(`${base}/#/today`);
  const chart = page.getByRole('figure').filter({ hasText: 'Buffer balance against obligations, last 30 days' });
  const image = chart.getByRole('img', { name: /^Buffer balance against obligations, last 30 days: the buffer/ });
  await image.locator('svg path').first().waitFor({ state: 'attached' });
  const series = await api('/settlement/buffer-by-day?days=30');
  const rows = await figures(chart);
  expect(series.days.filter((d: { payable_centicents: string }) => d.payable_centicents !== '0').length).toBeGreaterThan(5);
  expect(rows).toEqual(
    series.days.map((d: Record<string, string | null>) => [
      d.date,
      formatCenticents(d.balance_centicents),
      formatCenticents(d.payable_centicents),
      formatCenticents(d.receivable_centicents),
    ]),
  );
  await checkBothWidths(page, 'today-chart');
}, 120_000);

it('Subtrader: PnL and margin over cycles, the table exact to the centicent even beyond 2^53', async () => {
  const page = await signedIn();
  await page.goto(`${base}/#/subtraders/ST-H`);
  const chart = page.getByRole('figure').filter({ hasText: 'PnL and margin over cycles, ST-H' });
  await chart.getByRole('img').locator('svg path').first().waitFor({ state: 'attached' });
  const rows = await figures(chart);
  const cycles = (await api('/subtraders/ST-H/cycles?limit=30')).cycles as Array<Record<string, string | null>>;
  expect(rows.map((r) => r.slice(1))).toEqual(
    cycles.map((c) => [formatCenticents(c.pnl_centicents), formatCenticents(c.maintenance_margin_centicents)]),
  );
  // 2^53 + 1 centicents: a double would show ...0992 or ...0994; the table shows the string's digits.
  const huge = rows.find((r) => r[0] === '2026-03-11 03:30Z')!;
  expect(huge[1]).toBe(formatCenticents(HUGE_PNL.toString()));
  expect(huge[1]).toBe('$900,719,925,474.0993');
  await checkBothWidths(page, 'subtrader-chart');
  // A subtrader trading in every cycle: 30 bars and a margin line, the table one row a cycle.
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`${base}/#/subtraders/ST-A`);
  const month = page.getByRole('figure').filter({ hasText: 'PnL and margin over cycles, ST-A' });
  await month.getByRole('img').locator('svg path').first().waitFor({ state: 'attached' });
  expect(await figures(month)).toHaveLength(30);
  await checkBothWidths(page, 'subtrader-month-chart');
}, 120_000);
