import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { verifyStoredDecision } from '@app/auth';
import type { Role } from '@app/db';
import { SteppedClock } from '../support/stepped-clock';
import { artefactDir, axeViolations, builtConsole, launchChromium } from '../support/browser';
import { newKey, startWithdrawalWorld, type WithdrawalWorld } from '../withdrawals/withdrawal-world';
import { enrol, nextTotpCode, PASSWORD } from './console-people-factory';
import { formatCenticents } from '../../apps/console/src/money';

// The console in Chromium against the real stack: PostgreSQL, the Klear simulator, the API serving the
// built console. People sign in with password + TOTP; each TOTP code works once, so `code()` moves the
// product's clock (a SteppedClock: real time plus jumps) to a step after the person's last one, whatever
// the machine's speed. No waiting on time: every wait is for something on the page.
let w: WithdrawalWorld;
const clock = new SteppedClock();
let browser: Browser;
let base: string;
const people: Record<string, { id: string; token: string; secret: string; lastStep: number }> = {};

async function person(name: string, roles: Role[]) {
  const u = await w.api.newUser(name, roles);
  people[name] = { ...u, secret: await enrol(w.app, u.id), lastStep: 0 };
}

function code(name: string): string {
  return nextTotpCode(clock, people[name]);
}

async function signIn(context: BrowserContext, name: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Authenticator code').fill(code(name));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Approval queue' }).waitFor();
  return page;
}

async function requestWithdrawal(amount: string, purpose: string): Promise<string> {
  const res = await w.request(amount, { token: people['ops-operator'].token, key: newKey('console'), purpose });
  // A refusal says why (its code and message), not only its status: toMatchObject would print only
  // the properties it was asked about, so the whole answer goes in the failure's message.
  if (res.status !== 201) throw new Error(`withdrawal request refused: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

beforeAll(async () => {
  w = await startWithdrawalWorld({ env: { CONSOLE_DIR: builtConsole() }, app: { clock } });
  await w.app.listen(0, '127.0.0.1');
  base = `http://localhost:${(w.app.getHttpServer().address() as AddressInfo).port}`;
  await person('ops-operator', ['operator']);
  await person('ops-approver-a', ['approver']);
  await person('ops-approver-b', ['approver']);
  await person('ops-admin', ['admin', 'approver']);
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await w?.close();
});

describe('console in the browser', () => {
  it('signs in with password and TOTP; a wrong code is refused on the page', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/`);
    expect(await axeViolations(page)).toEqual([]);
    await page.getByLabel('Username').fill('ops-approver-a');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Authenticator code').fill(code('ops-approver-a') === '000000' ? '111111' : '000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('wrong username, password or authenticator code');
    await page.getByLabel('Authenticator code').fill(code('ops-approver-a'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Approval queue' }).waitFor();
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'klear_session')!;
    expect([session.httpOnly, session.sameSite]).toEqual([true, 'Strict']);
    await context.close();
  }, 60_000);

  it('two approvers in two browsers approve $250,000.00 with step-up; the requester has no approve button; exactly one POST reaches Klear', async () => {
    const id = await requestWithdrawal('250000.00', 'monthly sweep to the operating account');
    const postsBefore = await w.postCount();
    const requester = await signIn(await browser.newContext(), 'ops-operator');
    const mine = requester.getByRole('listitem').filter({ hasText: 'monthly sweep to the operating account' });
    await mine.getByText('You requested this withdrawal').waitFor();
    expect(await mine.getByRole('button', { name: /Approve/ }).count()).toBe(0);

    const a = await signIn(await browser.newContext(), 'ops-approver-a');
    const cardA = a.getByRole('listitem').filter({ hasText: 'monthly sweep to the operating account' });
    await cardA.getByRole('button', { name: 'Approve…' }).click();
    const dialog = a.getByRole('dialog', { name: 'Approve $250,000.00' });
    // A wrong code is refused and nothing is recorded.
    await dialog.getByLabel('Authenticator code for this decision').fill('000000');
    await dialog.getByRole('button', { name: 'Approve with code' }).click();
    await expect(dialog.getByRole('alert').textContent()).resolves.toMatch(/wrong or was already used/);
    expect((await w.get(id)).approvals).toEqual([]);
    await dialog.getByLabel('Authenticator code for this decision').fill(code('ops-approver-a'));
    await dialog.getByRole('button', { name: 'Approve with code' }).click();
    // The queue shows the decision (the request stays, waiting for another approver).
    await cardA.getByText(/You approved it at/).waitFor();
    expect((await w.get(id)).state).toBe('pending_approval');

    const b = await signIn(await browser.newContext(), 'ops-approver-b');
    const cardB = b.getByRole('listitem').filter({ hasText: 'monthly sweep to the operating account' });
    await cardB.getByText('1 of 2 approvals').waitFor();
    await cardB.getByText('ops-approver-a', { exact: false }).first().waitFor();
    await cardB.getByRole('button', { name: 'Approve…' }).click();
    const dialogB = b.getByRole('dialog', { name: 'Approve $250,000.00' });
    await dialogB.getByLabel('Authenticator code for this decision').fill(code('ops-approver-b'));
    await dialogB.getByRole('button', { name: 'Approve with code' }).click();
    await cardB.waitFor({ state: 'detached' }); // approved: no longer pending
    expect((await w.get(id)).state).toBe('approved');
    // The first approver's queue updates by itself (polling): the request leaves it.
    await cardA.waitFor({ state: 'detached', timeout: 20_000 });

    await w.executor().runOnce();
    const after = await w.get(id);
    expect(after.state).toBe('submitted');
    expect((await w.postCount()) - postsBefore).toBe(1);
    const stepUps = (await w.api.http().get(`/withdrawals/${id}/step-ups`).set('Authorization', `Bearer ${w.api.tokens.viewer}`)).body
      .data as Array<Record<string, unknown>>;
    expect(
      stepUps.map((s) => [s.method, (s.approver as { name: string }).name, (s.binding as { amount_centicents: string }).amount_centicents]),
    ).toEqual([
      ['totp', 'ops-approver-a', '2500000000'],
      ['totp', 'ops-approver-b', '2500000000'],
    ]);
    await b.goto(`${base}/#/withdrawals/${id}`);
    await b.getByRole('heading', { name: 'Withdrawal $250,000.00' }).waitFor();
    await b.getByText('submitted', { exact: true }).first().waitFor();
  }, 120_000);

  it('approves with a passkey (Chromium virtual authenticator); the stored assertion verifies afterwards from the stored key alone', async () => {
    const context = await browser.newContext();
    const page = await signIn(context, 'ops-admin');
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    await page.getByRole('link', { name: 'Administration' }).click();
    await page.getByRole('button', { name: 'Enrol a passkey' }).click();
    await page.getByText('Passkey enrolled.').waitFor();
    const id = await requestWithdrawal('50000.00', 'passkey approved transfer');
    await page.getByRole('link', { name: 'Approvals' }).click();
    const card = page.getByRole('listitem').filter({ hasText: 'passkey approved transfer' });
    await card.getByRole('button', { name: 'Approve…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Approve with passkey' }).click();
    await card.waitFor({ state: 'detached' }); // approved: no longer pending
    expect((await w.get(id)).state).toBe('approved');
    const [evidence] = (await w.api.http().get(`/withdrawals/${id}/step-ups`).set('Authorization', `Bearer ${w.api.tokens.viewer}`)).body
      .data as Array<Record<string, any>>;
    expect(evidence.method).toBe('passkey');
    expect(evidence.signature_verified).toBe(true);
    expect(evidence.binding).toMatchObject({
      action: 'approve',
      request_id: id,
      amount_centicents: '500000000',
      purpose: 'passkey approved transfer',
    });
    const binding = {
      action: 'approve' as const,
      requestId: id,
      amountCenticents: '500000000',
      purpose: 'passkey approved transfer',
      version: evidence.binding.version,
      nonce: evidence.binding.nonce,
    };
    const stored = {
      binding,
      credentialId: evidence.credential_id,
      publicKey: new Uint8Array(Buffer.from(evidence.public_key_cose_base64url, 'base64url')),
      assertion: evidence.assertion,
      origin: evidence.origin,
      rpId: evidence.rp_id,
    };
    expect(await verifyStoredDecision(stored)).toBe(true);
    // The same signature does not verify for another amount, purpose or version.
    expect(await verifyStoredDecision({ ...stored, binding: { ...binding, amountCenticents: '500000001' } })).toBe(false);
    expect(await verifyStoredDecision({ ...stored, binding: { ...binding, purpose: 'something else' } })).toBe(false);
    expect(await verifyStoredDecision({ ...stored, binding: { ...binding, version: binding.version + 1 } })).toBe(false);
    await context.close();
  }, 120_000);

  it('refuses a state-changing call made with the cookie but without the CSRF token', async () => {
    const id = await requestWithdrawal('1000.00', 'csrf probe');
    const page = await signIn(await browser.newContext(), 'ops-approver-a');
    const answer = await page.evaluate(async (target) => {
      const res = await fetch(`/withdrawals/${target}/approve`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ step_up: { method: 'totp', code: '123456' } }),
      });
      return { status: res.status, body: (await res.json()) as { code: string } };
    }, id);
    expect([answer.status, answer.body.code]).toEqual([403, 'CSRF_REFUSED']);
    expect((await w.get(id)).approvals).toEqual([]);
  }, 60_000);

  it('Today shows every term of the headroom formula, the same figures GET /headroom gives, and the requests waiting for approval', async () => {
    await requestWithdrawal('1234.56', 'headroom term on Today');
    const context = await browser.newContext();
    const page = await signIn(context, 'ops-operator');
    await page.goto(`${base}/#/today`);
    const table = page.getByRole('table', { name: 'Headroom formula' });
    await table.waitFor();
    const api = (await w.api.http().get('/headroom').set('Authorization', `Bearer ${people['ops-operator'].token}`)).body;
    expect(api.pending_approval.count).toBeGreaterThanOrEqual(1);
    const cell = async (label: string | RegExp) => (await table.getByRole('row', { name: label }).getByRole('cell').innerText()).trim();
    const f = api.figures;
    expect(await cell(/^Buffer available/)).toBe(formatCenticents(f.available_centicents));
    expect(await cell(/^− Withdrawals not yet locked/)).toBe(formatCenticents(f.not_yet_locked_withdrawals_centicents));
    expect(await cell(/^− Reserve/)).toBe(formatCenticents(f.reserve_centicents));
    expect(await cell(/^reserve floor/)).toBe(formatCenticents(f.reserve_floor_centicents));
    expect(await cell(/^= Headroom now/)).toBe(formatCenticents(api.headroom_centicents));
    expect(
      await cell(`− Waiting for approval (${api.pending_approval.count}) ${formatCenticents(api.pending_approval.total_centicents)}`),
    ).toBe(formatCenticents(api.pending_approval.total_centicents));
    expect(await cell(/^= Headroom after those/)).toBe(formatCenticents(api.headroom_after_pending_approval_centicents));
    // The terms add up: available − not yet locked − reserve = headroom (in centicents, exactly).
    expect(BigInt(f.available_centicents) - BigInt(f.not_yet_locked_withdrawals_centicents) - BigInt(f.reserve_centicents)).toBe(
      BigInt(api.headroom_centicents),
    );
    await context.close();
  }, 120_000);

  it('an administrator invites a person in the console; the invitee accepts it with their own password, gets their TOTP secret once and signs in with it', async () => {
    const adminContext = await browser.newContext();
    const admin = await signIn(adminContext, 'ops-admin');
    await admin.goto(`${base}/#/admin`);
    await admin.getByLabel('Name').fill('ops-newcomer');
    await admin.getByRole('button', { name: 'Invite' }).click();
    const invitation = (await admin.getByTestId('invitation-code').innerText()).trim();
    expect(invitation).toMatch(/^ksi_/);
    await adminContext.close();

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.getByRole('button', { name: 'Accept an invitation' }).click();
    await page.getByLabel('Invitation code').fill(invitation);
    await page.getByLabel('New password (at least 12 characters)').fill(PASSWORD);
    await page.getByLabel('New password again').fill(PASSWORD);
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Accept invitation' }).click();
    await page.getByRole('heading', { name: 'Welcome, ops-newcomer' }).waitFor();
    const secret = (await page.getByTestId('totp-secret').innerText()).trim();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await page.getByRole('button', { name: 'Continue to sign-in' }).click();
    const newcomer = { id: '', token: '', secret, lastStep: 0 };
    await page.getByLabel('Username').fill('ops-newcomer');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Authenticator code').fill(nextTotpCode(clock, newcomer));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Approval queue' }).waitFor();
    expect(await page.getByText('ops-newcomer (viewer)').count()).toBe(1);
    await context.close();
  }, 120_000);

  it('every page: no axe-core WCAG 2.1 A/AA violation, at 1280 px and at 390 px; screenshots kept', async () => {
    const pages: Array<[string, string, string]> = [
      ['queue', '/#/queue', 'Approval queue'],
      ['withdrawals', '/#/withdrawals', 'Withdrawals'],
      ['today', '/#/today', 'Today'],
      ['breaks', '/#/breaks', 'Breaks worklist'],
      ['subtraders', '/#/subtraders', 'Subtraders'],
      ['runs', '/#/runs', 'Reconciliation runs'],
      ['workbooks', '/#/workbooks', 'Workbooks'],
      ['jobs', '/#/jobs', 'Jobs'],
      ['audit', '/#/audit', 'Audit'],
      ['admin', '/#/admin', 'Administration'],
      ['notifications', '/#/notifications', 'Notifications'],
    ];
    const context = await browser.newContext();
    const page = await signIn(context, 'ops-admin');
    const failures: Record<string, unknown> = {};
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
      for (const [name, path, heading] of pages) {
        await page.goto(`${base}${path}`);
        await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
        await page.waitForLoadState('networkidle');
        const violations = await axeViolations(page);
        if (violations.length) failures[`${name}@${width}`] = violations;
        await page.screenshot({ path: join(artefactDir(), `${name}-${width}.png`), fullPage: true });
      }
    }
    expect(failures).toEqual({});
    await context.close();
  }, 180_000);
});
