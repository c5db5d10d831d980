import { ConsoleAuthService, totpCode } from '@app/auth';
import type { INestApplication } from '@nestjs/common';

export const PASSWORD = 'correct horse battery staple';

/** Gives an existing user console credentials; returns the TOTP secret (as the CLI would print it). */
export async function enrol(app: INestApplication, userId: string, password = PASSWORD): Promise<string> {
  return (await app.get(ConsoleAuthService).setCredentials(userId, password, 'test')).secret;
}

export { totpCode };

/** The session cookie pair (`klear_session=...`) out of a Set-Cookie answer. */
export function sessionCookie(setCookie: string[] | string | undefined): string {
  const all = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const found = all.find((c) => c.startsWith('klear_session='));
  if (!found) throw new Error(`no session cookie in ${JSON.stringify(all)}`);
  return found.split(';')[0];
}
