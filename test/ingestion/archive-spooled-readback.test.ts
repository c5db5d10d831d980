import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ResponseArchiveRepository } from '@app/ingestion';
import { type KlearRawAnswer, SpooledBody } from '@app/klear-client';
import { createTestDatabase, type TestDatabase } from '@app/testing';

let db: TestDatabase;
let spoolDir: string;
beforeAll(async () => {
  db = await createTestDatabase();
  spoolDir = mkdtempSync(join(tmpdir(), 'klear-archive-readback-'));
});
afterAll(async () => {
  await db?.drop();
  rmSync(spoolDir, { recursive: true, force: true });
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** What Klear sent: an answer of 2,000 entries (~80 KB, several of the archive's read chunks would be 1 MiB: one here). */
const received = `{"entries":[${Array.from({ length: 2_000 }, (_, i) => `{"id":"e-${i}","balance_delta_centicents":${i + 1}}`).join(',')}]}`;

/** A spool file holding `text`, as the transport leaves one. */
async function spooled(text: string): Promise<SpooledBody> {
  const body = await SpooledBody.create(spoolDir);
  await body.write(Buffer.from(text, 'utf8'));
  return body;
}

/** The answer as the transport reported it on arrival: the received bytes' size and hash, the body on disk. */
const answer = (file: SpooledBody): KlearRawAnswer => ({
  body: '',
  spooledBody: file,
  size: Buffer.byteLength(received),
  status: 200,
  endpoint: 'GET /margin/settlement_balance_history',
  params: { limit: '500' },
  receivedAt: new Date('2026-11-02T10:00:00Z'),
  sha256: sha256(received),
});

/**
 * The archive streams a spooled body from its file into the row under the sha256 hashed as the bytes
 * arrived. A file that gives back other bytes (a disk that changed or lost some) must not become a row
 * whose body its sha256 does not describe.
 */
describe('An answer spooled to disk, archived', () => {
  it('is refused when its file does not read back as received (a changed byte, a lost tail): no row, the body closed', async () => {
    const archive = new ResponseArchiveRepository(db.dataSource);
    const changed = await spooled(received.replace('"e-1000"', '"e-1001"'));
    await expect(archive.append(answer(changed), null)).rejects.toThrow(
      new RegExp(
        `read back as ${Buffer.byteLength(received)} bytes \\(sha256 [0-9a-f]{64}\\), not the ${Buffer.byteLength(received)} received`,
      ),
    );
    expect(changed.closed).toBe(true);
    const short = await spooled(received.slice(0, -100));
    await expect(archive.append(answer(short), null)).rejects.toThrow(`read back as ${Buffer.byteLength(received) - 100} bytes`);
    expect(short.closed).toBe(true);
    expect(await db.count('klear_response_archive')).toBe(0);
  });

  it('is archived byte for byte when it does, on a connection the refused COPYs left usable', async () => {
    const archive = new ResponseArchiveRepository(db.dataSource);
    for (let i = 0; i < 3; i++) await expect(archive.append(answer(await spooled(`${received} `)), null)).rejects.toThrow('not archived');
    const same = await spooled(received);
    const id = await archive.append(answer(same), null);
    expect(same.closed).toBe(true);
    const rows = (await db.dataSource.query(
      `SELECT id::text, convert_from(body, 'UTF8') AS body, encode(sha256(body), 'hex') = sha256 AS ok FROM klear_response_archive`,
    )) as Array<{ id: string; body: string; ok: boolean }>;
    expect(rows).toEqual([{ id, body: received, ok: true }]);
  });
});
