import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '@app/clock';
import { startApiWorld, type ApiWorld } from '../support/api-world';
import { enrol, PASSWORD, sessionCookie, totpCode } from './console-people-factory';

// Console sign-in against a real API and PostgreSQL, on a manual clock: TOTP steps, idle and
// absolute timeouts and the lockout all move only when the test moves the clock.
const clock = new ManualClock('2031-05-06T07:00:00Z');
let ctx: ApiWorld;
let secret: string;
const STEP = 30_000;

beforeAll(async () => {
  ctx = await startApiWorld(
    {
      CONSOLE_SESSION_IDLE_SECONDS: '900',
      CONSOLE_SESSION_ABSOLUTE_SECONDS: '3600',
      CONSOLE_SIGNIN_MAX_FAILURES: '3',
      CONSOLE_SIGNIN_LOCKOUT_SECONDS: '600',
    },
    { clock },
  );
  secret = await enrol(ctx.app, ctx.userIds.approver);
}, 60_000);
afterAll(async () => ctx?.close());

const signIn = (body: Record<string, string>) => ctx.http().post('/session').send(body);
const code = () => totpCode(secret, clock.nowMs());

async function signedIn(): Promise<{ cookie: string; csrf: string }> {
  clock.advance(STEP); // a fresh code: each one works once
  const res = await signIn({ username: 'test-approver', password: PASSWORD, totp: code() });
  expect(res.status).toBe(200);
  return { cookie: sessionCookie(res.headers['set-cookie']), csrf: res.body.csrf_token };
}

describe('console sign-in', () => {
  it('password + TOTP give an HttpOnly SameSite=Strict cookie (not Secure on loopback) and never the token in the body', async () => {
    clock.advance(STEP);
    const res = await signIn({ username: 'test-approver', password: PASSWORD, totp: code() });
    expect(res.status).toBe(200);
    const raw = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('klear_session='))!;
    expect(raw).toMatch(/HttpOnly/);
    expect(raw).toMatch(/SameSite=Strict/);
    expect(raw).not.toMatch(/Secure/);
    expect(raw).toMatch(/Path=\//);
    expect(res.body.user).toEqual({ id: ctx.userIds.approver, name: 'test-approver', roles: ['approver'] });
    expect(res.body.csrf_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(res.body)).not.toContain(sessionCookie(res.headers['set-cookie']).split('=')[1]);
    const stored = (await ctx.db.dataSource.query(`SELECT token_hash FROM console_session WHERE user_id = $1`, [
      ctx.userIds.approver,
    ])) as Array<{ token_hash: string }>;
    expect(stored.every((s) => /^[0-9a-f]{64}$/.test(s.token_hash))).toBe(true);
    const me = await ctx.http().get('/session').set('Cookie', sessionCookie(res.headers['set-cookie']));
    expect(me.status).toBe(200);
    expect(me.body.user.name).toBe('test-approver');
  });

  it('refuses a wrong password, a wrong code and a replayed code with one answer that names neither', async () => {
    clock.advance(STEP);
    const good = code();
    const wrongPassword = await signIn({ username: 'test-approver', password: 'not the password at all', totp: good });
    expect([wrongPassword.status, wrongPassword.body.code]).toEqual([401, 'SIGN_IN_REFUSED']);
    const ok = await signIn({ username: 'test-approver', password: PASSWORD, totp: good });
    expect(ok.status).toBe(200);
    const replay = await signIn({ username: 'test-approver', password: PASSWORD, totp: good });
    expect([replay.status, replay.body.code]).toEqual([401, 'SIGN_IN_REFUSED']);
    const unknown = await signIn({ username: 'nobody-here', password: PASSWORD, totp: good });
    expect([unknown.status, unknown.body.message]).toEqual([401, wrongPassword.body.message]);
    const noCredentials = await signIn({ username: 'test-viewer', password: PASSWORD, totp: good });
    expect(noCredentials.status).toBe(401);
  });

  it('locks the account after 3 failures for 600 s, even with the right password and code, then lets it in', async () => {
    const victimSecret = await enrol(ctx.app, ctx.userIds.approver2);
    clock.advance(STEP);
    for (let i = 0; i < 3; i++) {
      const res = await signIn({
        username: 'test-approver2',
        password: `wrong-${i}-xxxxxxxx`,
        totp: totpCode(victimSecret, clock.nowMs()),
      });
      expect(res.status).toBe(401);
    }
    clock.advance(STEP);
    const locked = await signIn({ username: 'test-approver2', password: PASSWORD, totp: totpCode(victimSecret, clock.nowMs()) });
    expect([locked.status, locked.body.code]).toEqual([429, 'SIGN_IN_LOCKED']);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(500);
    clock.advance(600_000);
    const after = await signIn({ username: 'test-approver2', password: PASSWORD, totp: totpCode(victimSecret, clock.nowMs()) });
    expect(after.status).toBe(200);
    const audit = (await ctx.db.dataSource.query(
      `SELECT action FROM audit_log WHERE entity_id = $1 AND action LIKE 'console.%' ORDER BY seq`,
      [ctx.userIds.approver2],
    )) as Array<{ action: string }>;
    expect(audit.map((a) => a.action)).toEqual([
      'console.credentials_set',
      'console.sign_in_failed',
      'console.sign_in_failed',
      'console.locked_out',
    ]);
  });

  it('ends a session after 900 s idle, and after 3600 s whatever the activity', async () => {
    const idle = await signedIn();
    clock.advance(899_000);
    expect((await ctx.http().get('/session').set('Cookie', idle.cookie)).status).toBe(200);
    clock.advance(899_000); // touched at 899 s: still alive at 1798 s
    expect((await ctx.http().get('/session').set('Cookie', idle.cookie)).status).toBe(200);
    clock.advance(901_000);
    expect((await ctx.http().get('/session').set('Cookie', idle.cookie)).status).toBe(401);

    const busy = await signedIn();
    for (let t = 0; t < 7; t++) {
      clock.advance(500_000);
      const res = await ctx.http().get('/session').set('Cookie', busy.cookie);
      expect(res.status).toBe(t < 7 && (t + 1) * 500 < 3600 ? 200 : 401);
    }
    clock.advance(500_000);
    expect((await ctx.http().get('/session').set('Cookie', busy.cookie)).status).toBe(401);
  });

  it('refuses a state-changing request with the cookie but without the CSRF token (403), and takes it with the token', async () => {
    const s = await signedIn();
    const withoutToken = await ctx.http().delete('/session').set('Cookie', s.cookie);
    expect([withoutToken.status, withoutToken.body.code]).toEqual([403, 'CSRF_REFUSED']);
    const wrongToken = await ctx.http().delete('/session').set('Cookie', s.cookie).set('X-CSRF-Token', 'x'.repeat(43));
    expect([wrongToken.status, wrongToken.body.code]).toEqual([403, 'CSRF_REFUSED']);
    expect((await ctx.http().get('/session').set('Cookie', s.cookie)).status).toBe(200);
    const out = await ctx.http().delete('/session').set('Cookie', s.cookie).set('X-CSRF-Token', s.csrf);
    expect(out.status).toBe(204);
    expect((await ctx.http().get('/session').set('Cookie', s.cookie)).status).toBe(401);
  });

  it('keeps API tokens working beside sessions (no CSRF token needed without the cookie)', async () => {
    const res = await ctx.http().get('/withdrawal-policy').set('Authorization', `Bearer ${ctx.tokens.viewer}`);
    expect(res.status).toBe(200);
    const asAdmin = await ctx
      .http()
      .post('/users')
      .set('Authorization', `Bearer ${ctx.tokens.admin}`)
      .send({ name: 'script-made', roles: ['viewer'] });
    expect(asAdmin.status).toBe(201);
  });

  it('an invitee sets their own console password and gets their TOTP secret once, by redeeming the invitation; a short password spends nothing', async () => {
    const created = await ctx
      .http()
      .post('/users')
      .set('Authorization', `Bearer ${ctx.tokens.admin}`)
      .send({ name: 'invited-viewer', roles: ['viewer'] });
    expect(created.status).toBe(201);
    const invitation = created.body.invitation.code as string;
    // Too short: refused before the code is spent.
    const short = await ctx.http().post('/invitations/redeem').send({ code: invitation, label: 'console', password: 'short' });
    expect(short.status).toBe(400);
    const credentialsOf = async () =>
      (
        (await ctx.db.dataSource.query(
          `SELECT 1 FROM console_credential c JOIN app_user u ON u.id = c.user_id WHERE u.name = 'invited-viewer'`,
        )) as unknown[]
      ).length;
    expect(await credentialsOf()).toBe(0);
    const redeemed = await ctx
      .http()
      .post('/invitations/redeem')
      .send({ code: invitation, label: 'console', password: 'a long enough passphrase' });
    expect(redeemed.status).toBe(201);
    expect(redeemed.body.console).toEqual({
      username: 'invited-viewer',
      totp_secret: expect.stringMatching(/^[A-Z2-7]{32}$/),
      otpauth_uri: expect.stringMatching(/^otpauth:\/\/totp\/Klear%20ops:invited-viewer\?/),
    });
    // Their own password and a code of their new secret sign them in.
    clock.advance(STEP);
    const session = await signIn({
      username: 'invited-viewer',
      password: 'a long enough passphrase',
      totp: totpCode(redeemed.body.console.totp_secret, clock.nowMs()),
    });
    expect({ status: session.status, name: session.body.user?.name }).toEqual({ status: 200, name: 'invited-viewer' });
    expect(await credentialsOf()).toBe(1);
    // The code works once: the secret is never shown again.
    const again = await ctx
      .http()
      .post('/invitations/redeem')
      .send({ code: invitation, label: 'console', password: 'another long passphrase' });
    expect(again.status).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(again.body)).not.toContain(redeemed.body.console.totp_secret);
  });
});
