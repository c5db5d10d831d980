// GET /audit verifies the chain from a stored, MAC-protected checkpoint instead of re-walking every row on
// every request (issue 18: audit reads in constant time). The attacks: a checkpoint forged without the key,
// the checkpointed row rewritten or cut away, a row after the checkpoint edited. Each is reported, never
// trusted; the full walk (hourly job, `audit:verify`) still reads every row.
import { systemClock } from '@app/clock';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { AUDIT_CHECKPOINT_MAC, AUDIT_ROW_MAC, auditMacData, AuditService, checkpointMacData } from '@app/audit';
import { AuditCheckpoint } from '@app/db';
import { Keyring } from '@app/secrets';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { recordRows, tamper as tamperWith } from '../support/audit-chain';

const key = randomBytes(32);
let db: TestDatabase;

beforeEach(async () => {
  db = await createTestDatabase();
}, 60_000);
afterEach(async () => db?.drop());

const tamper = (sql: string, params: unknown[] = []) => tamperWith(db, sql, params);

describe('verification from a checkpoint', () => {
  it('walks only the rows after the newest checkpoint, with the MAC counts carried over', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 40);
    const full = await audit.verify();
    expect(full).toMatchObject({ ok: true, checked: 40, checkpoint: null, anchor: { seq: '40' } });
    await recordRows(audit, 3, 40);

    const incremental = await audit.verifyFromCheckpoint();
    expect(incremental).toMatchObject({
      ok: true,
      checked: 3,
      checkpoint: { seq: '40', kind: 'full' },
      anchor: { seq: '43' },
      macs: { checked: true, valid: 43, unsignedPrefix: 0, retiredKey: 0 },
    });
    // Nothing new: nothing read, the chain still verified through the checkpointed row.
    await audit.verify();
    expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: true, checked: 0, checkpoint: { seq: '43' }, anchor: { seq: '43' } });
  });

  it('records an incremental checkpoint the re-check window behind its end once that is enough rows on, so the next read starts there', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    const options = { checkpointEvery: 10, recheckWindow: 3 };
    await recordRows(audit, 11);
    // The row 3 behind the end (8) is not 10 rows on yet.
    expect(await audit.verifyFromCheckpoint(options)).toMatchObject({ ok: true, checked: 11, checkpoint: null });
    expect(await db.count('audit_checkpoint')).toBe(0);
    await recordRows(audit, 2, 11);
    expect(await audit.verifyFromCheckpoint(options)).toMatchObject({ ok: true, checked: 13, checkpoint: null });
    expect(await db.count('audit_checkpoint')).toBe(1);
    await recordRows(audit, 2, 13);
    expect(await audit.verifyFromCheckpoint(options)).toMatchObject({
      ok: true,
      checked: 5,
      checkpoint: { seq: '10', kind: 'incremental' },
      anchor: { seq: '15' },
    });
  });

  it('reports an edit after the checkpoint at the edited row', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 10);
    await audit.verify();
    await recordRows(audit, 5, 10);
    await tamper(`UPDATE audit_log SET actor = 'mallory' WHERE seq = 13`, []);
    expect(await audit.verifyFromCheckpoint()).toMatchObject({
      ok: false,
      firstBrokenSeq: '13',
      problem: expect.stringContaining('edited'),
      checkpoint: { seq: '10' },
    });
  });

  it('reports the checkpointed row rewritten or cut away instead of going on from it', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 10);
    await audit.verify();
    await recordRows(audit, 2, 10);
    await tamper(`UPDATE audit_log SET hash = repeat('a', 64) WHERE seq = 10`, []);
    expect(await audit.verifyFromCheckpoint()).toMatchObject({
      ok: false,
      firstBrokenSeq: '10',
      problem: expect.stringContaining('no longer matches checkpoint'),
    });
    await tamper(`DELETE FROM audit_log WHERE seq >= 10`, []);
    expect(await audit.verifyFromCheckpoint()).toMatchObject({
      ok: false,
      firstBrokenSeq: '10',
      problem: expect.stringContaining('cut back'),
    });
  });
});

/**
 * 12 signed rows, a full verification at row 8, then the attacker edits row 10: the checkpoint content
 * they would write past the edit (row 12), so a read would start after it.
 */
async function rowEditedBehindACheckpoint() {
  const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
  await recordRows(audit, 8);
  await audit.verify();
  await recordRows(audit, 4, 8);
  await tamper(`UPDATE audit_log SET actor = 'mallory' WHERE seq = 10`, []);
  const [{ hash }] = (await db.dataSource.query('SELECT hash FROM audit_log WHERE seq = 12')) as Array<{ hash: string }>;
  const forged = {
    seq: '12',
    hash,
    kind: 'full' as const,
    verifiedAt: new Date(),
    walkState: { signedSeen: true, pendingRetired: 0, valid: 12, unsignedPrefix: 0, retiredKey: 0 },
  };
  return { audit, forged };
}

describe('a checkpoint written without the key', () => {
  it('is reported when its MAC does not verify, even when it would skip a rewritten row', async () => {
    const { audit, forged } = await rowEditedBehindACheckpoint();
    const otherKey = new Keyring(randomBytes(32)).sign(AUDIT_CHECKPOINT_MAC, checkpointMacData(forged));
    await db.dataSource.getRepository(AuditCheckpoint).insert({ ...forged, mac: otherKey.mac, macKeyId: new Keyring(key).currentKeyId });

    expect(await audit.verifyFromCheckpoint()).toMatchObject({
      ok: false,
      problem: expect.stringContaining('does not verify (written without the key)'),
      checkpoint: { seq: '12' },
    });
  });

  it('without a MAC is passed over for the newest signed one, from which the edit is found', async () => {
    const { audit, forged } = await rowEditedBehindACheckpoint();
    await db.dataSource.getRepository(AuditCheckpoint).insert({ ...forged, mac: null, macKeyId: null });

    expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: false, firstBrokenSeq: '10', checkpoint: { seq: '8' } });
  });

  it('cannot be changed once written: checkpoints are append-only', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 2);
    await audit.verify();
    await expect(db.dataSource.query(`UPDATE audit_checkpoint SET seq = 1`)).rejects.toThrow(/append-only: UPDATE refused/);
    await expect(db.dataSource.query(`DELETE FROM audit_checkpoint`)).rejects.toThrow(/append-only: DELETE refused/);
    await expect(db.dataSource.query(`TRUNCATE audit_checkpoint`)).rejects.toThrow(/append-only: TRUNCATE refused/);
  });
});

/**
 * The re-check window (AUDIT_RECHECK_WINDOW): every read re-walks the rows just before the checkpoint it
 * goes on from, so a row a read passed (and checkpointed) stays checked by later reads for a while; a
 * read's cost stays bounded (at most the window, the rows to the next checkpoint and the new rows).
 */
describe('the re-check window before the checkpoint', () => {
  it('finds an edit of a row an earlier read passed and checkpointed, while it is within the window', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 250);
    expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: true, checked: 250, checkpoint: null });
    expect(await db.count('audit_checkpoint')).toBe(1);
    // Recorded 100 rows behind the end: the next read re-walks rows 51-150 and walks 151-250 again.
    expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: true, checked: 100, checkpoint: { seq: '150', kind: 'incremental' } });

    await tamper(`UPDATE audit_log SET actor = 'mallory' WHERE seq = 100`, []);
    expect(await audit.verifyFromCheckpoint()).toMatchObject({
      ok: false,
      firstBrokenSeq: '100',
      problem: expect.stringContaining('edited'),
      checkpoint: { seq: '150' },
    });
  });

  it('leaves rows older than the window to the full walk (audit:verify, the hourly job), which finds them', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 250);
    await audit.verifyFromCheckpoint();
    // The checkpoint is at 150, the window rows 51-150; row 50 is its base (checked on its own), row 49 is not read.
    await tamper(`UPDATE audit_log SET actor = 'mallory' WHERE seq = 49`, []);
    expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: true, checked: 100 });
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: '49', problem: expect.stringContaining('edited') });
  });

  it('never records a checkpoint past a row whose MAC fails or whose key is unknown', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 230);
    await audit.verifyFromCheckpoint();
    expect(await db.count('audit_checkpoint')).toBe(1);
    // Appended by someone holding another key: a key id the ring does not know.
    await new AuditService(db.dataSource, null, systemClock).record({
      actor: 'mallory',
      action: 'thing.done',
      entityType: 'thing',
      entityId: 'forged',
    });
    const other = new Keyring(randomBytes(32));
    const [{ hash }] = (await db.dataSource.query('SELECT hash FROM audit_log WHERE seq = 231')) as Array<{ hash: string }>;
    const signed = other.sign(AUDIT_ROW_MAC, auditMacData('231', hash));
    await tamper(`UPDATE audit_log SET mac = $1, mac_key_id = $2 WHERE seq = 231`, [signed.mac, signed.keyId]);
    const unknownKey = await audit.verifyFromCheckpoint();
    expect(unknownKey).toMatchObject({
      ok: false,
      firstBrokenSeq: '231',
      problem: expect.stringContaining('neither in the keyring nor retired'),
    });
    expect(await db.count('audit_checkpoint')).toBe(1);

    // The same row claiming the current key: its MAC does not verify.
    await tamper(`UPDATE audit_log SET mac_key_id = $1 WHERE seq = 231`, [new Keyring(key).currentKeyId]);
    expect(await audit.verifyFromCheckpoint()).toMatchObject({
      ok: false,
      firstBrokenSeq: '231',
      problem: expect.stringContaining('MAC does not verify'),
    });
    expect(await db.count('audit_checkpoint')).toBe(1);
  });

  it('records one checkpoint however many readers walk the same rows at once', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 300);
    const first = await Promise.all(Array.from({ length: 50 }, () => audit.verifyFromCheckpoint()));
    expect(first.every((r) => r.ok)).toBe(true);
    expect(await db.count('audit_checkpoint')).toBe(1);
    const again = await Promise.all(Array.from({ length: 50 }, () => audit.verifyFromCheckpoint()));
    // From the checkpoint at 200: rows 201-300 again, and no new checkpoint (100 rows behind the end is 200).
    expect(again.every((r) => r.ok && r.checked === 100)).toBe(true);
    expect(await db.count('audit_checkpoint')).toBe(1);
  });
});
