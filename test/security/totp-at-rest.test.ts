import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { ConsoleAuthService, totpCode, TOTP_PERIOD } from '@app/auth';
import { ManualClock } from '@app/clock';
import { secretKeyId } from '@app/secrets';
import { createApiApplication } from '@apps/api';
import { type ApiWorld, startApiWorld, testConfig } from '../support/api-world';

const KEY = 'a1'.repeat(32);
const NEW_KEY = 'b2'.repeat(32);
const PASSWORD = 'correct horse battery staple';

/**
 * TOTP secrets at rest are sealed under SECRETS_KEY like every stored secret: a copy of the database
 * does not give anyone's authenticator codes. Attack tests: an envelope moved to another person's
 * row, a clear secret passed off as sealed, a secret still in clear from before (sealed at start),
 * a rotated key (re-sealed at start, old envelopes still open with the previous key).
 */
describe('TOTP secrets sealed at rest', () => {
  let ctx: ApiWorld;
  // Each sign-in uses a new time step (a code works once): the clock moves a step at a time.
  const clock = new ManualClock(Date.now());
  const auth = () => ctx.app.get(ConsoleAuthService);
  const stored = async (userId: string) =>
    (
      (await ctx.db.dataSource.query(`SELECT totp_secret, totp_key_id FROM console_credential WHERE user_id = $1`, [userId])) as Array<{
        totp_secret: string;
        totp_key_id: string | null;
      }>
    )[0];
  const signIn = (name: string, secret: string) => {
    clock.advance(TOTP_PERIOD * 1000);
    return auth().signIn(name, PASSWORD, totpCode(secret, clock.nowMs()), 'test');
  };

  beforeAll(async () => {
    ctx = await startApiWorld({ SECRETS_KEY: KEY }, { clock });
  });
  afterAll(async () => ctx?.close());

  it('stores an enrolled secret only as an envelope of the current key; sign-in and step-up open it', async () => {
    const { secret } = await auth().setCredentials(ctx.userIds.approver, PASSWORD, 'test');
    const row = await stored(ctx.userIds.approver);
    expect(row.totp_key_id).toBe(secretKeyId(Buffer.from(KEY, 'hex')));
    expect(row.totp_secret.startsWith(`sb1.${row.totp_key_id}.`)).toBe(true);
    expect(row.totp_secret).not.toContain(secret);
    expect(await auth().totpSecretOf(ctx.userIds.approver)).toBe(secret);
    expect((await signIn('test-approver', secret)).principal.userId).toBe(ctx.userIds.approver);
    clock.advance(TOTP_PERIOD * 1000);
    expect(await auth().verifyStepUpTotp(ctx.userIds.approver, totpCode(secret, clock.nowMs()))).toBe(
      Math.floor(clock.nowMs() / 1000 / TOTP_PERIOD),
    );
  });

  it("an envelope copied onto another person's row does not open there (bound to its person)", async () => {
    await auth().setCredentials(ctx.userIds.approver2, PASSWORD, 'test');
    const approvers = await stored(ctx.userIds.approver);
    await ctx.db.dataSource.query(`UPDATE console_credential SET totp_secret = $2, totp_key_id = $3 WHERE user_id = $1`, [
      ctx.userIds.approver2,
      approvers.totp_secret,
      approvers.totp_key_id,
    ]);
    await expect(auth().totpSecretOf(ctx.userIds.approver2)).rejects.toThrow(/failed authentication/);
    const secret = (await auth().totpSecretOf(ctx.userIds.approver))!;
    await expect(signIn('test-approver2', secret)).rejects.toThrow();
  });

  it('the database refuses a clear secret labelled with a key, and an envelope without its key id', async () => {
    await expect(
      ctx.db.dataSource.query(`UPDATE console_credential SET totp_secret = 'JBSWY3DPEHPK3PXP' WHERE user_id = $1`, [ctx.userIds.approver]),
    ).rejects.toThrow(/console_credential_totp_sealed/);
    await expect(
      ctx.db.dataSource.query(`UPDATE console_credential SET totp_key_id = NULL WHERE user_id = $1`, [ctx.userIds.approver]),
    ).rejects.toThrow(/console_credential_totp_sealed/);
  });

  it('a secret still in clear (written before the key, or without one) is sealed at start, and keeps working', async () => {
    const clear = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    await auth().setCredentials(ctx.userIds.operator, PASSWORD, 'test');
    await ctx.db.dataSource.query(`UPDATE console_credential SET totp_secret = $2, totp_key_id = NULL WHERE user_id = $1`, [
      ctx.userIds.operator,
      clear,
    ]);
    expect(await auth().sealStoredTotpSecrets()).toBe(1);
    const row = await stored(ctx.userIds.operator);
    expect(row.totp_key_id).toBe(secretKeyId(Buffer.from(KEY, 'hex')));
    expect(row.totp_secret).not.toContain(clear);
    expect((await signIn('test-operator', clear)).principal.name).toBe('test-operator');
    expect(await auth().sealStoredTotpSecrets()).toBe(0);
  });

  it('after a key rotation the next start re-seals every secret with the new key; the old key alone no longer opens them', async () => {
    const secret = (await auth().totpSecretOf(ctx.userIds.approver))!;
    // Start another API on the same database with the new key, the old one as previous.
    let rotated: INestApplication | undefined = await createApiApplication(
      testConfig({ DATABASE_URL: ctx.db.url, SECRETS_KEY: NEW_KEY, SECRETS_KEY_PREVIOUS: KEY }),
      { silent: true, clock },
    );
    try {
      await rotated.init();
      const newId = secretKeyId(Buffer.from(NEW_KEY, 'hex'));
      // Every secret that opens is re-sealed; the envelope moved onto approver2's row (above) does not open and is left, without stopping the start.
      const keyIds = (await ctx.db.dataSource.query(`SELECT user_id, totp_key_id FROM console_credential ORDER BY user_id`)) as Array<{
        user_id: string;
        totp_key_id: string;
      }>;
      expect(keyIds).toEqual(
        [ctx.userIds.approver, ctx.userIds.approver2, ctx.userIds.operator]
          .sort()
          .map((id) => ({ user_id: id, totp_key_id: id === ctx.userIds.approver2 ? secretKeyId(Buffer.from(KEY, 'hex')) : newId })),
      );
      expect(await rotated.get(ConsoleAuthService).totpSecretOf(ctx.userIds.approver)).toBe(secret);
      await expect(auth().totpSecretOf(ctx.userIds.approver)).rejects.toThrow(/sealed with key/);
    } finally {
      await rotated.close();
      rotated = undefined;
    }
  });
});
