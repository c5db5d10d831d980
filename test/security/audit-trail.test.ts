// The audit trail resists a consistent rewrite by someone who can write rows: each row carries a MAC
// keyed outside the database (SECRETS_KEY's keyring), `audit:verify` checks the hash chain and the
// MACs, and anchors recorded outside the database catch a chain cut back or rebuilt unsigned.
import { systemClock } from '@app/clock';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { auditRowHash, AuditService, GENESIS_HASH } from '@app/audit';
import { AuditLogEntry, StoredSecret } from '@app/db';
import { Keyring, SecretBox, StoredSecretRepository } from '@app/secrets';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { clockEnvironment } from '../support/child-env';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const keyA = randomBytes(32);
const keyB = randomBytes(32);
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
}, 60_000);
afterAll(async () => db?.drop());

async function rows(): Promise<AuditLogEntry[]> {
  return db.dataSource.getRepository(AuditLogEntry).find({ order: { seq: 'ASC' } });
}

/** What an attacker with superuser rights and no key does: edit a row, recompute every hash after it. */
async function rewriteConsistently(
  fromSeq: string,
  edit: (row: AuditLogEntry) => void,
  options: { stripMacs?: boolean } = {},
): Promise<void> {
  const all = await rows();
  let prev = GENESIS_HASH;
  await db.dataSource.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete');
  try {
    for (const row of all) {
      if (BigInt(row.seq) >= BigInt(fromSeq)) {
        if (row.seq === fromSeq) edit(row);
        row.prevHash = prev;
        row.hash = auditRowHash(row);
        if (options.stripMacs) {
          row.mac = null;
          row.macKeyId = null;
        }
        await db.dataSource.query(
          `UPDATE audit_log SET actor = $2, reason = $3, prev_hash = $4, hash = $5, mac = $6, mac_key_id = $7 WHERE seq = $1`,
          [row.seq, row.actor, row.reason, row.prevHash, row.hash, row.mac, row.macKeyId],
        );
      }
      prev = row.hash;
    }
  } finally {
    await db.dataSource.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete');
  }
}

describe('audit rows signed with the keyring', () => {
  it('verify the chain and every MAC, and name an anchor to keep outside the database', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(keyA), systemClock);
    for (let i = 0; i < 6; i++) await audit.record({ actor: 'alice', action: 'thing.done', entityType: 'thing', entityId: `t${i}` });
    const result = await audit.verify();
    expect(result).toMatchObject({ ok: true, checked: 6, macs: { checked: true, valid: 6, unsignedPrefix: 0, retiredKey: 0 } });
    const last = (await rows()).at(-1)!;
    expect(result.anchor).toEqual({ seq: '6', hash: last.hash, mac: last.mac });
    expect(last.macKeyId).toBe(new Keyring(keyA).currentKeyId);
  });

  it('a consistent rewrite passes the bare hash chain but fails the MAC at the rewritten row', async () => {
    await rewriteConsistently('3', (row) => (row.actor = 'mallory'));
    expect(await new AuditService(db.dataSource, null, systemClock).verify()).toMatchObject({ ok: true, macs: { checked: false } });
    expect(await new AuditService(db.dataSource, new Keyring(keyA), systemClock).verify()).toMatchObject({
      ok: false,
      firstBrokenSeq: '3',
      problem: expect.stringContaining('MAC does not verify'),
    });
  });

  it('a rewrite that drops the MACs of the rows it touched is caught after the first signed row', async () => {
    const fresh = await createTestDatabase();
    const previous = db;
    db = fresh;
    try {
      const audit = new AuditService(fresh.dataSource, new Keyring(keyA), systemClock);
      for (let i = 0; i < 4; i++) await audit.record({ actor: 'alice', action: 'thing.done', entityType: 'thing', entityId: `t${i}` });
      await rewriteConsistently('3', (row) => (row.reason = 'backdated'), { stripMacs: true });
      expect(await audit.verify()).toMatchObject({
        ok: false,
        firstBrokenSeq: '3',
        problem: expect.stringContaining('no MAC after signed rows'),
      });
    } finally {
      db = previous;
      await fresh.drop();
    }
  });

  it('a chain rebuilt entirely unsigned, or cut back, is caught by an anchor recorded earlier', async () => {
    const fresh = await createTestDatabase();
    try {
      const audit = new AuditService(fresh.dataSource, new Keyring(keyA), systemClock);
      for (let i = 0; i < 4; i++) await audit.record({ actor: 'alice', action: 'thing.done', entityType: 'thing', entityId: `t${i}` });
      const anchor = (await audit.verify()).anchor!;
      expect(await audit.verify({ anchor })).toMatchObject({ ok: true });
      await fresh.dataSource.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete');
      await fresh.dataSource.query(`DELETE FROM audit_log WHERE seq = 4`);
      await fresh.dataSource.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete');
      expect(await audit.verify({ anchor })).toMatchObject({ ok: false, problem: expect.stringContaining('no longer in the chain') });
      expect(await audit.verify({ anchor: { seq: '2', hash: 'f'.repeat(64) } })).toMatchObject({
        ok: false,
        firstBrokenSeq: '2',
        problem: expect.stringContaining('anchor'),
      });
    } finally {
      await fresh.drop();
    }
  });

  it('survive a key rotation: old MACs verify with the previous key, and are covered by newer rows once the old key is retired (its id listed)', async () => {
    const fresh = await createTestDatabase();
    try {
      await new AuditService(fresh.dataSource, new Keyring(keyA), systemClock).record({
        actor: 'a',
        action: 'x',
        entityType: 't',
        entityId: '1',
      });
      const rotated = new AuditService(fresh.dataSource, new Keyring(keyB, [keyA]), systemClock);
      expect(await rotated.verify()).toMatchObject({ ok: true, macs: { valid: 1, retiredKey: 0 } });
      // Retired from the ring (its id listed in SECRETS_KEY_RETIRED_IDS), with no newer signed row: the old key is still needed.
      const retired = new Keyring(keyB, [], [new Keyring(keyA).currentKeyId]);
      expect(await new AuditService(fresh.dataSource, retired, systemClock).verify()).toMatchObject({
        ok: false,
        problem: expect.stringContaining('SECRETS_KEY_PREVIOUS'),
      });
      await rotated.record({ actor: 'a', action: 'secrets.rotate', entityType: 'keyring', entityId: 'k' });
      expect(await new AuditService(fresh.dataSource, retired, systemClock).verify()).toMatchObject({
        ok: true,
        macs: { valid: 1, retiredKey: 1 },
      });
      // An id the ring has never known is a forgery, covered by a later row or not.
      expect(await new AuditService(fresh.dataSource, new Keyring(keyB), systemClock).verify()).toMatchObject({
        ok: false,
        firstBrokenSeq: '1',
        problem: expect.stringContaining('neither in the keyring nor retired'),
      });
    } finally {
      await fresh.drop();
    }
  });
});

describe('the CLI', () => {
  let fresh: TestDatabase;
  const cli = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, ['dist/apps/cli/src/main.js', ...args], {
      cwd: ROOT,
      env: { ...clockEnvironment(), PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: fresh.url, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });

  beforeAll(async () => {
    fresh = await createTestDatabase();
  }, 120_000);
  afterAll(async () => fresh?.drop());

  it('audit:verify checks the MACs with SECRETS_KEY (exit 1 on a rewrite) and checks an anchor', async () => {
    const audit = new AuditService(fresh.dataSource, new Keyring(keyA), systemClock);
    for (let i = 0; i < 3; i++) await audit.record({ actor: 'alice', action: 'x', entityType: 't', entityId: `${i}` });
    const ok = cli(['audit:verify'], { SECRETS_KEY: keyA.toString('hex') });
    expect(ok.status).toBe(0);
    const anchor = JSON.parse(ok.stdout.trim().split('\n').at(-1)!).anchor as { seq: string; hash: string };
    expect(cli(['audit:verify', '--anchor', `${anchor.seq}:${anchor.hash}`], { SECRETS_KEY: keyA.toString('hex') }).status).toBe(0);
    expect(cli(['audit:verify', '--anchor', `${anchor.seq}:${'0'.repeat(64)}`], { SECRETS_KEY: keyA.toString('hex') }).status).toBe(1);
    const withoutKey = cli(['audit:verify'], {});
    expect(withoutKey.stderr).toContain('MACs were not checked');
    expect(cli(['audit:verify'], { SECRETS_KEY: keyB.toString('hex') }).status).toBe(1);
  });

  it('secrets:rotate re-seals every stored secret with the new key, so the old key can leave the ring', async () => {
    await new StoredSecretRepository(fresh.dataSource, SecretBox.fromKeys(keyA)).put(
      'klear.credentials',
      '{"mode":"bearer","adminUserId":"u","accessToken":"t"}',
    );
    const rotate = cli(['secrets:rotate'], { SECRETS_KEY: keyB.toString('hex'), SECRETS_KEY_PREVIOUS: keyA.toString('hex') });
    expect(rotate.status).toBe(0);
    expect(rotate.stdout).toContain('re-sealed 1 stored secret(s)');
    const [row] = await fresh.dataSource.getRepository(StoredSecret).find();
    expect(row.keyId).toBe(new Keyring(keyB).currentKeyId);
    expect(await new StoredSecretRepository(fresh.dataSource, SecretBox.fromKeys(keyB)).get('klear.credentials')).toContain(
      '"accessToken":"t"',
    );
  });
});
