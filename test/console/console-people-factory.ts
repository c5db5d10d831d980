import { ConsoleAuthService, totpCode } from '@app/auth';
import type { INestApplication } from '@nestjs/common';
import type { Page } from 'playwright-core';
import type { SteppedClock } from '../support/stepped-clock';

export const PASSWORD = 'correct horse battery staple';

/** Gives an existing user console credentials; returns the TOTP secret (as the CLI would print it). */
export async function enrol(app: INestApplication, userId: string, password = PASSWORD): Promise<string> {
  return (await app.get(ConsoleAuthService).setCredentials(userId, password, 'test')).secret;
}

export { totpCode };

/**
 * A person's next TOTP code: each code works once, so the product's clock (real time plus jumps) jumps
 * to a step after the last one this person used; the test never waits 30 s, whatever the machine's speed.
 */
export function nextTotpCode(clock: SteppedClock, person: { secret: string; lastStep: number }): string {
  const next = (person.lastStep + 1) * 30_000;
  if (clock.nowMs() < next) clock.jump(next - clock.nowMs());
  person.lastStep = Math.floor(clock.nowMs() / 30_000);
  return totpCode(person.secret, clock.nowMs());
}

/** The session cookie pair (`klear_session=...`) out of a Set-Cookie answer. */
export function sessionCookie(setCookie: string[] | string | undefined): string {
  const all = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const found = all.find((c) => c.startsWith('klear_session='));
  if (!found) throw new Error(`no session cookie in ${JSON.stringify(all)}`);
  return found.split(';')[0];
}

/** Signs `name` in on the console's sign-in page with the password and a code; waits for the queue. */
export async function signInOnPage(page: Page, base: string, name: string, code: string): Promise<Page> {
  await page.goto(`${base}/`);
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Authenticator code').fill(code);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Approval queue' }).waitFor();
  return page;
}
