import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startApiWorld, type ApiWorld } from '../support/api-world';
import { SteppedClock } from '../support/stepped-clock';
import { artefactDir, axeViolations, builtConsole, launchChromium } from '../support/browser';
import { enrol, nextTotpCode, signInOnPage } from './console-people-factory';

// A person sets their own notification preferences in the console (keyboard only), and the API stored
// exactly that; the page is axe-clean at 1280 px and 390 px.
let ctx: ApiWorld;
let browser: Browser;
let base: string;
const clock = new SteppedClock();
const approver = { secret: '', lastStep: 0 };

beforeAll(async () => {
  ctx = await startApiWorld({ CONSOLE_DIR: builtConsole() }, { clock });
  await ctx.app.listen(0, '127.0.0.1');
  base = `http://localhost:${(ctx.app.getHttpServer().address() as AddressInfo).port}`;
  approver.secret = await enrol(ctx.app, ctx.userIds.approver);
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await ctx?.close();
});

async function signedInApprover(): Promise<Page> {
  return signInOnPage(await (await browser.newContext()).newPage(), base, 'test-approver', nextTotpCode(clock, approver));
}

it('a person chooses their address, events and channels with the keyboard; the API stored exactly that', async () => {
  const page = await signedInApprover();
  await page.getByRole('link', { name: 'Notifications' }).click();
  await page.getByRole('heading', { name: 'Notifications', level: 1 }).waitFor();
  const email = page.getByLabel('Email address');
  await email.focus();
  await page.keyboard.type('approver@ops.test');
  // Approval requests: email and Slack; the daily digest: off. Space toggles a focused checkbox.
  const slackApproval = page.getByRole('checkbox', { name: 'Approval needed: Slack' });
  await slackApproval.focus();
  await page.keyboard.press('Space');
  const digestEmail = page.getByRole('checkbox', { name: 'Reconciliation breaks still open: Email' });
  await digestEmail.focus();
  await page.keyboard.press('Space');
  expect([await slackApproval.isChecked(), await digestEmail.isChecked()]).toEqual([true, false]);
  await page.getByRole('button', { name: 'Save preferences' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('status').getByText('Preferences saved.').waitFor();

  const stored = (await ctx.http().get('/notifications/preferences/me').set('Authorization', `Bearer ${ctx.tokens.approver}`)).body;
  expect(stored.email).toBe('approver@ops.test');
  expect(stored.events['withdrawal.approval_requested']).toEqual(['email', 'slack']);
  expect(stored.events['breaks.digest']).toEqual([]);
  expect(stored.events['withdrawal.failed']).toEqual(['email']);
  expect(stored.updated_by).toBe('test-approver');

  // A reload shows what is stored.
  await page.reload();
  await page.getByRole('checkbox', { name: 'Approval needed: Slack' }).waitFor();
  expect(await page.getByRole('checkbox', { name: 'Approval needed: Slack' }).isChecked()).toBe(true);
  expect(await page.getByLabel('Email address').inputValue()).toBe('approver@ops.test');
}, 120_000);

it('the Notifications page has no axe-core WCAG 2.1 A/AA violation at 1280 px and 390 px; screenshots kept', async () => {
  const page = await signedInApprover();
  const failures: Record<string, unknown> = {};
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
    await page.goto(`${base}/#/notifications`);
    await page.getByRole('button', { name: 'Save preferences' }).waitFor();
    const violations = await axeViolations(page);
    if (violations.length) failures[`notifications@${width}`] = violations;
    // The table fits the phone's screen: no sideways scrolling, every channel's column visible.
    const overflow = await page.locator('.table-wrap').evaluate((el) => el.scrollWidth - el.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(artefactDir(), `notifications-${width}.png`), fullPage: true });
  }
  expect(failures).toEqual({});
}, 120_000);
