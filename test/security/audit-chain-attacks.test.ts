// Attacks on the bounded audit verification (GET /audit from checkpoints, the hourly full walk) found in
// review: a row forged under a key id the ring does not know, rows a burst read passed, a chain cut back
// below a checkpoint, the re-check window's base row, a forged checkpoint far ahead, and rows edited after
// a read verified them (which the next reads must not take from their memo). Each is reported.
import { systemClock } from '@app/clock';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import {
  AUDIT_CHECKPOINT_MAC,
  AUDIT_ROW_MAC,
  auditMacData,
  auditRowHash,
  type AuditReadRow,
  AuditService,
  canonicalJson,
  checkpointMacData,
  VerifiedRowMemo,
} from '@app/audit';
import { AuditCheckpoint, AuditLogEntry } from '@app/db';
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

/** Appends a well-linked row signed with `keyring` (not the product's): database write access, no key. */
async function forgeRow(keyring: Keyring, entityId: string): Promise<string> {
  const [tail] = await db.dataSource.getRepository(AuditLogEntry).find({ order: { seq: 'DESC' }, take: 1 });
  const row = {
    seq: (BigInt(tail.seq) + 1n).toString(),
    occurredAt: new Date(),
    actor: 'mallory',
    action: 'withdrawal.approve',
    entityType: 'withdrawal',
    entityId,
    fromState: 'pending',
    toState: 'approved',
    reason: null,
    details: null,
    requestHash: null,
    prevHash: tail.hash,
  };
  const hash = auditRowHash(row);
  const signed = keyring.sign(AUDIT_ROW_MAC, auditMacData(row.seq, hash));
  await db.dataSource.getRepository(AuditLogEntry).insert({ ...row, hash, mac: signed.mac, macKeyId: signed.keyId });
  return row.seq;
}

const checkpointSeqs = async () =>
  ((await db.dataSource.query('SELECT seq FROM audit_checkpoint ORDER BY seq')) as Array<{ seq: string }>).map((r) => r.seq);

describe('a row forged under a key id the keyring does not know', () => {
  it('fails both verifications, is never signed over by the next append, and is never checkpointed', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 5);
    expect(await audit.verify()).toMatchObject({ ok: true, checked: 5 });
    const forged = await forgeRow(new Keyring(randomBytes(32)), 'w-evil');
    expect(forged).toBe('6');

    // The next ordinary append would sign over the forged tail: refused, with the way out.
    await expect(audit.record({ actor: 'alice', action: 'thing.done', entityType: 'thing', entityId: 'after' })).rejects.toThrow(
      /last row \(seq 6\) does not verify .*appends are refused.*audit:verify/,
    );
    expect(await db.count('audit_log')).toBe(6);

    const unknown = { ok: false, firstBrokenSeq: '6', problem: expect.stringContaining('neither in the keyring nor retired') };
    expect(await audit.verifyFromCheckpoint()).toMatchObject(unknown);
    expect(await audit.verify()).toMatchObject(unknown);
    expect(await checkpointSeqs()).toEqual(['5']);
  });

  it('even when a well-signed row follows it (appended bypassing the service), the walk stops at it', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 3);
    await forgeRow(new Keyring(randomBytes(32)), 'w-evil');
    // A row signed with the product's key after the forged one (as the old append did).
    await forgeRow(new Keyring(key), 'w-next');
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: '4', problem: expect.stringContaining('a forgery') });
    expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: false, firstBrokenSeq: '4' });
    expect(await db.count('audit_checkpoint')).toBe(0);
  });

  it('a key listed as retired (SECRETS_KEY_RETIRED_IDS) is accepted and covered by a later row of the ring', async () => {
    const old = randomBytes(32);
    await recordRows(new AuditService(db.dataSource, new Keyring(old), systemClock), 2);
    await recordRows(new AuditService(db.dataSource, new Keyring(key, [old]), systemClock), 1, 2);
    const retiredId = new Keyring(old).currentKeyId;
    const audit = new AuditService(db.dataSource, new Keyring(key, [], [retiredId]), systemClock);
    expect(await audit.verify()).toMatchObject({ ok: true, macs: { valid: 1, retiredKey: 2 } });
    // Without the id listed, the same rows are a forgery.
    expect(await new AuditService(db.dataSource, new Keyring(key), systemClock).verify()).toMatchObject({
      ok: false,
      firstBrokenSeq: '1',
      problem: expect.stringContaining('neither in the keyring nor retired'),
    });
  });
});

describe('rows a burst read passed', () => {
  it('are re-walked by the next reads: the checkpoint is recorded the re-check window behind the walk end', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 400);
    expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: true, checked: 400, checkpoint: null });
    expect(await checkpointSeqs()).toEqual(['300']);
    // 150 rows back from the end: passed once by the burst read, still re-walked (window 201-300).
    await tamper(`UPDATE audit_log SET actor = 'mallory' WHERE seq = 250`);
    expect(await audit.verifyFromCheckpoint()).toMatchObject({
      ok: false,
      firstBrokenSeq: '250',
      problem: expect.stringContaining('edited'),
      checkpoint: { seq: '300' },
    });
  });
});

describe('a chain cut back below a checkpoint', () => {
  it('fails the full walk too, which then writes no checkpoint hiding it', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 250);
    await audit.verifyFromCheckpoint();
    expect(await checkpointSeqs()).toEqual(['150']);
    await tamper(`DELETE FROM audit_log WHERE seq > 120`);
    const cutBack = { ok: false, firstBrokenSeq: '150', problem: expect.stringContaining('cut back') };
    expect(await audit.verifyFromCheckpoint()).toMatchObject(cutBack);
    expect(await audit.verify()).toMatchObject(cutBack);
    expect(await checkpointSeqs()).toEqual(['150']);
    expect(await audit.verifyFromCheckpoint()).toMatchObject(cutBack);
  });

  it('goes on from the highest checkpoint, not the newest: a later full checkpoint lower down hides nothing', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 250);
    await audit.verifyFromCheckpoint(); // incremental at 150
    // A full checkpoint at a lower seq recorded afterwards (an older full walk finishing late).
    const [{ hash }] = (await db.dataSource.query('SELECT hash FROM audit_log WHERE seq = 100')) as Array<{ hash: string }>;
    const content = {
      seq: '100',
      hash,
      kind: 'full' as const,
      verifiedAt: new Date(),
      walkState: { signedSeen: true, pendingRetired: 0, valid: 100, unsignedPrefix: 0, retiredKey: 0 },
    };
    const signed = new Keyring(key).sign(AUDIT_CHECKPOINT_MAC, checkpointMacData(content));
    await db.dataSource.getRepository(AuditCheckpoint).insert({ ...content, mac: signed.mac, macKeyId: signed.keyId });
    await tamper(`DELETE FROM audit_log WHERE seq > 120`);
    expect(await audit.verifyFromCheckpoint()).toMatchObject({
      ok: false,
      firstBrokenSeq: '150',
      problem: expect.stringContaining('cut back'),
    });
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: '150', problem: expect.stringContaining('cut back') });
  });
});

describe("the re-check window's base row", () => {
  it('is checked on its own: content and MAC', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 250);
    await audit.verifyFromCheckpoint(); // checkpoint at 150: window 51-150, base row 50
    await tamper(`UPDATE audit_log SET actor = 'mallory' WHERE seq = 50`);
    expect(await audit.verifyFromCheckpoint()).toMatchObject({
      ok: false,
      firstBrokenSeq: '50',
      problem: expect.stringContaining('edited'),
    });
    await tamper(`UPDATE audit_log SET actor = 'alice' WHERE seq = 50`);
    expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: true });
    await tamper(`UPDATE audit_log SET mac = repeat('0', 64) WHERE seq = 50`);
    expect(await audit.verifyFromCheckpoint()).toMatchObject({
      ok: false,
      firstBrokenSeq: '50',
      problem: expect.stringContaining('MAC does not verify'),
    });
  });

  it('deleted is reported as missing', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 250);
    await audit.verifyFromCheckpoint();
    await tamper(`DELETE FROM audit_log WHERE seq = 50`);
    expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: false, firstBrokenSeq: '50', problem: 'row 50 is missing (deleted)' });
  });
});

describe('a checkpoint forged far ahead', () => {
  it('does not stop incremental checkpoints: only trusted checkpoints count as already recorded', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await db.dataSource.getRepository(AuditCheckpoint).insert({
      seq: '1000000000000000',
      hash: 'f'.repeat(64),
      kind: 'incremental',
      verifiedAt: new Date(),
      walkState: { signedSeen: true, pendingRetired: 0, valid: 0, unsignedPrefix: 0, retiredKey: 0 },
      mac: null,
      macKeyId: null,
    });
    await recordRows(audit, 250);
    expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: true, checked: 250, checkpoint: null });
    expect(await checkpointSeqs()).toEqual(['150', '1000000000000000']);
    expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: true, checked: 100, checkpoint: { seq: '150' } });
  });
});

describe('a row inserted below the chain’s first seq', () => {
  it('is walked and reported by both verifications, and listed on the first page, never skipped by their reads', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 5);
    // A copy of row 1 at seq 0 (plain SQL: the append-only triggers refuse changes, not inserts).
    await db.dataSource.query(
      `INSERT INTO audit_log (seq, occurred_at, actor, action, entity_type, entity_id, from_state, to_state, reason, details, request_hash, prev_hash, hash, mac, mac_key_id)
       SELECT 0, occurred_at, actor, action, entity_type, 'planted', from_state, to_state, reason, details, request_hash, prev_hash, hash, mac, mac_key_id
         FROM audit_log WHERE seq = 1`,
    );
    for (const result of [await audit.verify(), await audit.verifyFromCheckpoint()])
      expect(result).toMatchObject({ ok: false, firstBrokenSeq: '0', problem: expect.stringContaining('expected seq 1, found 0') });
    const { rows, chain } = await audit.newestWithChain(51);
    expect(rows.map((r) => r.seq)).toEqual(['5', '4', '3', '2', '1', '0']);
    expect(chain.ok).toBe(false);
  });
});

describe('the first page read with the verification (GET /audit without filters)', () => {
  const listed = async (audit: AuditService, count: number) => (await audit.list({ order: 'desc', limit: count })).map((r) => r.seq);

  it('is the newest rows exactly as the page statement lists them: a whole chain, a long one past a checkpoint, one shorter than the page', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 7);
    let answer = await audit.newestWithChain(51);
    expect(answer.rows.map((r) => r.seq)).toEqual(await listed(audit, 51));
    expect(answer.rows).toHaveLength(7);
    await recordRows(audit, 230, 7);
    await audit.verifyFromCheckpoint(); // records a checkpoint: the next read starts a window before it
    expect(await checkpointSeqs()).not.toEqual([]);
    for (const count of [1, 11, 51, 201]) {
      answer = await audit.newestWithChain(count);
      expect(answer.chain).toMatchObject({ ok: true, checkpoint: expect.objectContaining({ seq: expect.any(String) }) });
      expect(answer.rows.map((r) => r.seq)).toEqual(await listed(audit, count));
      expect(answer.rows.map((r) => [r.actor, r.entityId, r.hash])).toEqual(
        (await audit.list({ order: 'desc', limit: count })).map((r) => [r.actor, r.entityId, r.hash]),
      );
    }
  });

  it('still lists every newest row when the walk stops early at an edited row', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 12);
    await tamper(`UPDATE audit_log SET actor = 'mallory' WHERE seq = 3`);
    const { rows, chain } = await audit.newestWithChain(51);
    expect(chain).toMatchObject({ ok: false, firstBrokenSeq: '3' });
    expect(rows.map((r) => r.seq)).toEqual(await listed(audit, 51));
    expect(rows.find((r) => r.seq === '3')?.actor).toBe('mallory');
  });
});

describe('rows a read verified, edited afterwards (the verified-row memo of GET /audit)', () => {
  /** A service whose reads verified rows 1-250 and then 50-250 again (checkpoint at 150): every row is in its memo. */
  async function warmed(): Promise<{ audit: AuditService; keyring: Keyring }> {
    const keyring = new Keyring(key);
    const audit = new AuditService(db.dataSource, keyring, systemClock);
    await recordRows(audit, 250);
    expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: true, checked: 250 });
    expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: true, checked: 100, checkpoint: { seq: '150' } });
    return { audit, keyring };
  }

  /** The next read reports the chain broken at `seq`, with `problem` in its words. */
  async function expectBrokenAt(audit: AuditService, seq: string, problem: string): Promise<void> {
    expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: false, firstBrokenSeq: seq, problem: expect.stringContaining(problem) });
  }

  /** Rewrites row `seq` with `change` applied and its hash computed again over the new content (the MAC kept). */
  async function rewriteWithHash(seq: string, change: { actor: string }): Promise<void> {
    const row = await db.dataSource.getRepository(AuditLogEntry).findOneByOrFail({ seq });
    const hash = auditRowHash({ ...row, ...change });
    await tamper(`UPDATE audit_log SET actor = $1, hash = $2 WHERE seq = $3`, [change.actor, hash, seq]);
  }

  it('an unchanged re-walk makes no row MAC check; a row whose MAC was swapped is checked in full again', async () => {
    const { audit, keyring } = await warmed();
    const verify = jest.spyOn(keyring, 'verify');
    const rowChecks = () => verify.mock.calls.filter(([purpose]) => purpose === AUDIT_ROW_MAC).length;
    expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: true, checked: 100, macs: { valid: 250 } });
    expect(rowChecks()).toBe(0);
    await tamper(`UPDATE audit_log SET mac = (SELECT mac FROM audit_log WHERE seq = 199) WHERE seq = 200`);
    expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: false, firstBrokenSeq: '200' });
    expect(rowChecks()).toBe(1);
  });

  it('content edited after it verified, its hash kept: reported as edited (in the window and after the checkpoint)', async () => {
    const { audit } = await warmed();
    for (const seq of ['120', '200']) {
      await tamper(`UPDATE audit_log SET actor = 'mallory' WHERE seq = $1`, [seq]);
      expect(await audit.verifyFromCheckpoint()).toMatchObject({
        ok: false,
        firstBrokenSeq: seq,
        problem: expect.stringContaining('edited'),
      });
      await tamper(`UPDATE audit_log SET actor = 'alice' WHERE seq = $1`, [seq]);
      expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: true });
    }
  });

  it('its stored hash changed alone: reported as edited at that row, the last one included', async () => {
    const { audit } = await warmed();
    for (const seq of ['250', '140']) {
      await tamper(`UPDATE audit_log SET hash = repeat('e', 64) WHERE seq = $1`, [seq]);
      expect(await audit.verifyFromCheckpoint()).toMatchObject({
        ok: false,
        firstBrokenSeq: seq,
        problem: expect.stringContaining('edited'),
      });
    }
  });

  it('content edited and its hash computed again (no key): the MAC does not verify, for the last row and inside the window', async () => {
    const { audit } = await warmed();
    await rewriteWithHash('250', { actor: 'mallory' });
    await expectBrokenAt(audit, '250', 'MAC does not verify');
    await rewriteWithHash('120', { actor: 'mallory' });
    await expectBrokenAt(audit, '120', 'MAC does not verify');
  });

  it("another row's MAC on a row of the window verified before: reported", async () => {
    const { audit } = await warmed();
    await tamper(`UPDATE audit_log SET mac = (SELECT mac FROM audit_log WHERE seq = 129) WHERE seq = 130`);
    await expectBrokenAt(audit, '130', 'MAC does not verify');
  });

  it('a key id changed alone, on a row verified before: reported as a forgery', async () => {
    const { audit } = await warmed();
    await tamper(`UPDATE audit_log SET mac_key_id = 'k-unknown' WHERE seq = 210`);
    await expectBrokenAt(audit, '210', 'neither in the keyring nor retired');
  });

  it('its MAC and key id removed (an unsigned row after signed ones), on a row verified before: reported', async () => {
    const { audit } = await warmed();
    await tamper(`UPDATE audit_log SET mac = NULL, mac_key_id = NULL WHERE seq = 220`);
    await expectBrokenAt(audit, '220', 'no MAC after signed rows');
  });

  it('without a keyring (hashes only): content edited after two reads verified it is reported', async () => {
    const audit = new AuditService(db.dataSource, null, systemClock);
    await recordRows(audit, 250);
    expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: true, checked: 250 });
    expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: true, checked: 100 });
    await tamper(`UPDATE audit_log SET entity_id = 'planted' WHERE seq = 90`);
    await expectBrokenAt(audit, '90', 'edited');
  });

  it('any column its hash covers edited after it verified (each in turn, then put back): reported at that row, then passes again', async () => {
    const { audit } = await warmed();
    await tamper(`CREATE TABLE audit_row_kept AS SELECT * FROM audit_log WHERE seq = 180`);
    const edits: Array<[column: string, value: string]> = [
      ['occurred_at', `occurred_at + interval '1 second'`],
      ['action', `'withdrawal.approve'`],
      ['entity_type', `'withdrawal'`],
      ['entity_id', `'planted'`],
      ['from_state', `'pending'`],
      ['to_state', `'approved'`],
      ['reason', `'approved by phone'`],
      ['details', `'{"approved_by":"mallory"}'::jsonb`],
      ['details', `'{}'::jsonb`],
      ['request_hash', `repeat('0', 64)`],
    ];
    for (const [column, value] of edits) {
      await tamper(`UPDATE audit_log SET ${column} = ${value} WHERE seq = 180`);
      expect({ column, verdict: await audit.verifyFromCheckpoint() }).toMatchObject({
        column,
        verdict: { ok: false, firstBrokenSeq: '180', problem: expect.stringContaining('edited') },
      });
      await tamper(`UPDATE audit_log a SET ${column} = k.${column} FROM audit_row_kept k WHERE a.seq = k.seq`);
      expect({ column, verdict: await audit.verifyFromCheckpoint() }).toMatchObject({ column, verdict: { ok: true } });
    }
    // prev_hash: on a walked row the link to the row before catches it; on the window's base row (50,
    // checked on its own, no link before it) only the row's hash does.
    await tamper(`UPDATE audit_log SET prev_hash = repeat('0', 64) WHERE seq = 50`);
    await expectBrokenAt(audit, '50', 'edited');
  });

  it('keeps at most its capacity, the oldest rows going first', () => {
    const memo = new VerifiedRowMemo(3);
    const row = (seq: string): AuditReadRow => ({
      seq,
      occurredAtText: `2026-12-07 00:00:0${seq}+00`,
      actor: 'alice',
      action: 'thing.done',
      entityType: 'thing',
      entityId: `t${seq}`,
      fromState: null,
      toState: null,
      reason: null,
      detailsText: `{"n": ${seq}}`,
      requestHash: null,
      prevHash: `p${seq}`,
      hash: `h${seq}`,
      mac: `m${seq}`,
      macKeyId: 'k',
    });
    for (const seq of ['1', '2', '3', '4', '5']) memo.remember(row(seq), 'valid');
    expect(memo.size).toBe(3);
    expect(memo.match(row('2'))).toBeUndefined();
    expect(memo.match(row('5'))).toMatchObject({ row: { hash: 'h5' }, macCheck: 'valid' });
    expect(memo.match({ ...row('5'), detailsText: '{"n": 6}' })).toBeUndefined();
    expect(memo.match({ ...row('5'), occurredAtText: '2026-12-07 00:00:05.000001+00' })).toBeUndefined();
    expect(memo.match({ ...row('5'), mac: 'other' })).toBeUndefined();
    expect(memo.match({ ...row('5'), reason: 'added' })).toBeUndefined();
  });
});

describe('a cast planted in the catalog (a superuser, no key)', () => {
  it('does not show the verification the row as it was: an edited details is reported by both verifications', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    for (let i = 0; i < 5; i++)
      await audit.record({ actor: 'alice', action: 'thing.done', entityType: 'thing', entityId: `t${i}`, details: { amount: i } });
    expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: true, checked: 5 });
    // jsonb -> text through a function that shows row 3's edited details as they were: a statement that
    // cast details to text would hash the original and pass.
    await tamper(`UPDATE audit_log SET details = '{"amount": 3000000}' WHERE seq = 3`);
    await tamper(
      `CREATE FUNCTION as_it_was(j jsonb) RETURNS text LANGUAGE sql IMMUTABLE
         AS $$ SELECT CASE WHEN j = '{"amount": 3000000}'::jsonb THEN '{"amount": 2}' ELSE textin(jsonb_out(j)) END $$`,
    );
    await tamper(`CREATE CAST (jsonb AS text) WITH FUNCTION as_it_was(jsonb)`);
    expect(((await db.dataSource.query(`SELECT details::text AS t FROM audit_log WHERE seq = 3`)) as Array<{ t: string }>)[0].t).toBe(
      '{"amount": 2}',
    );
    const edited = { ok: false, firstBrokenSeq: '3', problem: expect.stringContaining('edited') };
    expect(await audit.verifyFromCheckpoint()).toMatchObject(edited);
    expect(await audit.verify()).toMatchObject(edited);
  });
});

describe('a details key named __proto__ (JSON.parse and jsonb keep it as an own key)', () => {
  it('is part of the canonical text, so two contents differing by it never hash the same', () => {
    const plain = JSON.parse('{"amount":1}') as unknown;
    const planted = JSON.parse('{"amount":1,"__proto__":{"approved_by":"mallory"}}') as unknown;
    expect(canonicalJson(planted)).toBe('{"__proto__":{"approved_by":"mallory"},"amount":1}');
    expect(canonicalJson(planted)).not.toBe(canonicalJson(plain));
  });

  it("added to a stored row behind the database's back is reported by both verifications", async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    for (let i = 0; i < 3; i++)
      await audit.record({ actor: 'alice', action: 'thing.done', entityType: 'thing', entityId: `t${i}`, details: { amount: i } });
    expect(await audit.verifyFromCheckpoint()).toMatchObject({ ok: true, checked: 3 });
    await tamper(`UPDATE audit_log SET details = details || '{"__proto__":{"approved_by":"mallory"}}'::jsonb WHERE seq = 2`);
    const edited = { ok: false, firstBrokenSeq: '2', problem: expect.stringContaining('edited') };
    expect(await audit.verifyFromCheckpoint()).toMatchObject(edited);
    expect(await audit.verify()).toMatchObject(edited);
  });
});

describe('GET /audit calls at the same time (one verification shared by the callers waiting together)', () => {
  /** A gate a test opens when it chooses. */
  function gate(): { opened: Promise<void>; open: () => void } {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    return { opened, open };
  }

  /**
   * A service whose first verification has read the chain and then waits, unanswered, until `release`:
   * what happens meanwhile happens after that read and before its callers are answered. `fails`: released,
   * it fails as a walk whose connection dropped.
   */
  function heldAfterItsRead(
    audit: AuditService,
    { fails = false } = {},
  ): { verifications: () => number; release: () => void; read: Promise<void> } {
    const original = audit.verifyFromCheckpoint.bind(audit);
    const hold = gate();
    const read = gate();
    let calls = 0;
    jest.spyOn(audit, 'verifyFromCheckpoint').mockImplementation(async (options) => {
      calls += 1;
      const verdict = await original(options);
      if (calls === 1) {
        read.open();
        await hold.opened;
        if (fails) throw new Error('connection terminated');
      }
      return verdict;
    });
    return { verifications: () => calls, release: hold.open, read: read.opened };
  }

  it('ten callers at once cost at most two walks and are answered the same verdict and page', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 120);
    const walks = jest.spyOn(audit, 'verifyFromCheckpoint');
    const answers = await Promise.all(Array.from({ length: 10 }, () => audit.newestWithChain(51)));
    expect(walks.mock.calls.length).toBeGreaterThanOrEqual(1);
    expect(walks.mock.calls.length).toBeLessThanOrEqual(2);
    for (const answer of answers) {
      expect(answer.chain).toMatchObject({ ok: true, macs: { valid: 120 } });
      expect(answer.rows.map((r) => r.seq)).toEqual(answers[0].rows.map((r) => r.seq));
    }
    expect(answers[0].rows[0].seq).toBe('120');
  });

  it('a row edited after a running walk read it is reported to a caller who came after the edit, never the stale verdict', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 30);
    const held = heldAfterItsRead(audit);
    const early = audit.newestWithChain(51);
    await held.read;
    await tamper(`UPDATE audit_log SET actor = 'mallory' WHERE seq = 25`);
    const late = audit.newestWithChain(51);
    const later = audit.sharedVerification();
    held.release();
    expect((await early).chain).toMatchObject({ ok: true }); // read before the edit: its read was clean
    expect((await late).chain).toMatchObject({ ok: false, firstBrokenSeq: '25', problem: expect.stringContaining('edited') });
    expect((await later).chain).toMatchObject({ ok: false, firstBrokenSeq: '25' });
    expect(held.verifications()).toBe(2); // the late callers shared the second walk
  });

  it('a row appended while a walk is held is on the page of a caller who came after it (read-your-writes)', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 30);
    const held = heldAfterItsRead(audit);
    const early = audit.newestWithChain(51);
    await held.read;
    await audit.record({ actor: 'bob', action: 'withdrawal.approve', entityType: 'withdrawal', entityId: 'w-1' });
    const late = audit.newestWithChain(51);
    held.release();
    expect((await early).rows[0].seq).toBe('30');
    const { rows, chain } = await late;
    expect(rows[0]).toMatchObject({ seq: '31', actor: 'bob', entityId: 'w-1' });
    expect(chain).toMatchObject({ ok: true, anchor: { seq: '31' } });
  });

  it('a walk that fails (the database went away) fails its callers only: the queued callers and later ones walk again', async () => {
    const audit = new AuditService(db.dataSource, new Keyring(key), systemClock);
    await recordRows(audit, 5);
    const held = heldAfterItsRead(audit, { fails: true });
    const first = audit.newestWithChain(51);
    await held.read;
    const queued = audit.newestWithChain(51);
    held.release();
    await expect(first).rejects.toThrow('connection terminated');
    expect((await queued).chain).toMatchObject({ ok: true, anchor: { seq: '5' } });
    expect((await audit.sharedVerification()).chain).toMatchObject({ ok: true });
    expect(held.verifications()).toBe(3);
  });
});
