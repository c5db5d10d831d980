import { systemClock } from '@app/clock';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditService } from '@app/audit';
import { loadConfig } from '@app/config';
import { KLEAR_CREDENTIALS_SECRET, KlearCredentialsRepository, createKlearClient } from '@app/klear-client';
import { SecretBox, SecretBoxError, StoredSecretRepository } from '@app/secrets';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import type { RunningKlearSimulator } from '@apps/klear-sim';
import { rejectionOf, startSmallSimulator } from './klear-client-world';

describe('Klear credentials stored encrypted in the database', () => {
  let db: TestDatabase;
  let sim: RunningKlearSimulator;
  const key = randomBytes(32);
  const box = SecretBox.fromKeys(key);

  beforeAll(async () => {
    [db, sim] = await Promise.all([createTestDatabase(), startSmallSimulator({ accessToken: 'tok-stored-7f3a9c' })]);
  });
  afterAll(async () => {
    await Promise.all([db?.drop(), sim?.close()]);
  });

  const storeWith = (secretBox: SecretBox) =>
    new KlearCredentialsRepository(
      db.dataSource,
      new StoredSecretRepository(db.dataSource, secretBox),
      new AuditService(db.dataSource, null, systemClock),
    );

  it('saves credentials sealed, audits the change without the secret, and loads them back', async () => {
    const credentials = { mode: 'bearer' as const, adminUserId: sim.options.adminUserId, accessToken: 'tok-stored-7f3a9c' };
    await storeWith(box).save(credentials, 'user:ops-1');
    const rows = (await db.dataSource.query('SELECT name, key_id, sealed FROM stored_secret')) as Array<{
      name: string;
      key_id: string;
      sealed: string;
    }>;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: KLEAR_CREDENTIALS_SECRET, key_id: box.currentKeyId });
    expect(rows[0].sealed).not.toContain('tok-stored-7f3a9c');
    expect(rows[0].sealed.startsWith(`sb1.${box.currentKeyId}.`)).toBe(true);
    const audit = (await db.dataSource.query(`SELECT actor, action, details FROM audit_log WHERE entity_id = $1`, [
      KLEAR_CREDENTIALS_SECRET,
    ])) as Array<{ actor: string; action: string; details: unknown }>;
    expect(audit).toEqual([{ actor: 'user:ops-1', action: 'klear.credentials.stored', details: { mode: 'bearer' } }]);
    expect(await storeWith(box).load()).toEqual(credentials);
  });

  it('cannot read them with another key', async () => {
    const error = await rejectionOf(storeWith(SecretBox.fromKeys(randomBytes(32))).load());
    expect(error).toBeInstanceOf(SecretBoxError);
    expect((error as SecretBoxError).code).toBe('unknown_key');
  });

  it('re-seals rows under a new key after rotation, still readable', async () => {
    const newKey = randomBytes(32);
    const rotated = SecretBox.fromKeys(newKey, [key]);
    expect(await new StoredSecretRepository(db.dataSource, rotated).resealWithCurrentKey()).toBe(1);
    const [row] = (await db.dataSource.query('SELECT key_id FROM stored_secret')) as Array<{ key_id: string }>;
    expect(row.key_id).toBe(rotated.currentKeyId);
    expect((await storeWith(SecretBox.fromKeys(newKey)).load())?.mode).toBe('bearer');
    await storeWith(box).save({ mode: 'bearer', adminUserId: sim.options.adminUserId, accessToken: 'tok-stored-7f3a9c' }, 'user:ops-1');
  });

  it('feeds a client configured without credentials, which then authenticates to Klear', async () => {
    const config = loadConfig({ KLEAR_BASE_URL: sim.url, SECRETS_KEY: key.toString('hex'), KLEAR_TIER: 'prime' });
    expect(config.klear.accessToken).toBeUndefined();
    const client = createKlearClient(config, { dataSource: db.dataSource, maxRetries: 0 });
    const balance = await client.getSettlementBalance();
    expect(balance.data.user_id).toBe(sim.options.adminUserId);

    const withoutKey = createKlearClient(loadConfig({ KLEAR_BASE_URL: sim.url }), { dataSource: db.dataSource });
    expect((await rejectionOf(withoutKey.getSettlementBalance())).message).toMatch(/no Klear credentials/);
  });
});
