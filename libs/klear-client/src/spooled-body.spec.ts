import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { KlearBodyTooLargeError } from './klear-errors';
import { exchange } from './klear-transport';
import { SpooledBody, scanSpooledObject } from './spooled-body';
import { openFilesUnder } from '../../../test/support/open-files';

let spoolDir: string;
beforeEach(() => {
  spoolDir = mkdtempSync(join(tmpdir(), 'klear-spool-spec-'));
});
afterEach(() => rmSync(spoolDir, { recursive: true, force: true }));

const openInSpool = () => openFilesUnder(spoolDir).map((file) => file.target);
const spoolDescriptors = () => openFilesUnder(spoolDir);

async function readWhole(body: SpooledBody): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of body.chunks(100_000)) parts.push(chunk);
  return Buffer.concat(parts);
}

/** A fetch answering `total` bytes of JSON in chunks of `chunk` bytes, made as they are read. */
function streamingFetch(total: number, chunk: number): typeof fetch {
  return (async () => {
    const head = Buffer.from('{"entries":[');
    const item = (i: number) => Buffer.from(`${i === 0 ? '' : ','}{"n":${i},"pad":"${'x'.repeat(80)}"}`);
    let sent = 0;
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= total) {
          controller.enqueue(Buffer.from('],"cursor":"c2"}'));
          controller.close();
          return;
        }
        const parts: Buffer[] = sent === 0 ? [head] : [];
        let size = parts.reduce((n, p) => n + p.length, 0);
        while (size < chunk) {
          const next = item(i++);
          parts.push(next);
          size += next.length;
        }
        sent += size;
        controller.enqueue(Buffer.concat(parts));
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
  }) as unknown as typeof fetch;
}

describe('a Klear answer body larger than the buffer cap', () => {
  it('is never held in memory past the cap: it streams into a spool file without a name, hashed and sized as it came', async () => {
    const cap = 256 * 1024;
    const answer = await exchange(
      { method: 'GET', url: 'http://klear/x', headers: {}, endpoint: 'GET /x', timeoutMs: 60_000, maxBufferBytes: cap, spoolDir },
      streamingFetch(20 * 1024 * 1024, 64 * 1024),
    );
    const body = answer.spooledBody!;
    try {
      expect(body).toBeDefined();
      expect(answer.body.length).toBe(0);
      expect(answer.bufferedBytes).toBeLessThanOrEqual(cap);
      // Unlinked at creation: nothing in the directory, one descriptor on a deleted file.
      expect(readdirSync(spoolDir)).toEqual([]);
      // Linux: made without a name (O_TMPFILE, shown as `#<inode>`); elsewhere a klear-body-<uuid>.json unlinked.
      expect(openInSpool()).toEqual([expect.stringMatching(/\/(#\d+|klear-body-[0-9a-f-]{36}\.json) \(deleted\)$/)]);
      // Readable by this user only, and with no link left (a crash frees it: nothing to clean up).
      const file = statSync(`/proc/self/fd/${spoolDescriptors()[0].fd}`);
      expect({ mode: file.mode & 0o777, links: file.nlink }).toEqual({ mode: 0o600, links: 0 });
      // Read twice, whole each time.
      for (let read = 0; read < 2; read++) {
        const onDisk = await readWhole(body);
        expect(onDisk.length).toBe(answer.size);
        expect(createHash('sha256').update(onDisk).digest('hex')).toBe(answer.sha256);
      }
      expect(body.size).toBe(answer.size);
      expect(answer.size).toBeGreaterThan(80 * cap);
    } finally {
      await body.close();
    }
    expect(body.closed).toBe(true);
    expect(openInSpool()).toEqual([]);
    await body.close(); // idempotent
    await expect(readWhole(body)).rejects.toThrow('the spooled body is closed');
  });

  it('is closed when the answer fails after spooling began (too large): no descriptor, no file', async () => {
    await expect(
      exchange(
        {
          method: 'GET',
          url: 'http://klear/x',
          headers: {},
          endpoint: 'GET /x',
          timeoutMs: 60_000,
          maxBufferBytes: 64 * 1024,
          maxBodyBytes: 2 * 1024 * 1024,
          spoolDir,
        },
        streamingFetch(8 * 1024 * 1024, 64 * 1024),
      ),
    ).rejects.toBeInstanceOf(KlearBodyTooLargeError);
    expect(openInSpool()).toEqual([]);
    expect(readdirSync(spoolDir)).toEqual([]);
  });

  it('stays in memory when it fits under the cap', async () => {
    const answer = await exchange(
      { method: 'GET', url: 'http://klear/x', headers: {}, endpoint: 'GET /x', timeoutMs: 60_000, maxBufferBytes: 1024 * 1024 },
      streamingFetch(100 * 1024, 16 * 1024),
    );
    expect(answer.spooledBody).toBeUndefined();
    expect(answer.body.length).toBe(answer.size);
  });
});

describe('SpooledBody', () => {
  it('makes its directory when it is missing (mode 0700), and leaves it empty', async () => {
    const dir = join(spoolDir, 'spool', 'klear');
    const body = await SpooledBody.create(dir);
    await body.write(Buffer.from('{"entries":[]}'));
    expect({ mode: statSync(dir).mode & 0o777, files: readdirSync(dir) }).toEqual({ mode: 0o700, files: [] });
    expect((await readWhole(body)).toString()).toBe('{"entries":[]}');
    await body.close();
    expect(openInSpool()).toEqual([]);
  });
});

describe('SpooledBody.close', () => {
  it('waits for a read in flight: the read gets its bytes, then the descriptor is closed', async () => {
    // Twenty times: a close that did not wait would finish before the read about half the time.
    const orders: string[][] = [];
    const bodies: SpooledBody[] = [];
    for (let attempt = 0; attempt < 20; attempt++) {
      const body = await SpooledBody.create(spoolDir);
      bodies.push(body);
      await body.write(Buffer.alloc(1024 * 1024, 7));
      const read = body.chunks(1024 * 1024).next(); // the read is on the thread pool now
      const closed = body.close();
      expect(body.closed).toBe(true);
      const order: string[] = [];
      await Promise.all([read.then(() => order.push('read')), closed.then(() => order.push('closed'))]);
      orders.push(order);
      const chunk = (await read).value as Buffer;
      expect({ length: chunk.length, sevens: chunk.every((b) => b === 7) }).toEqual({ length: 1024 * 1024, sevens: true });
    }
    expect(orders).toEqual(Array(20).fill(['read', 'closed']));
    expect(openInSpool()).toEqual([]);
    const body = bodies[19];
    await expect(body.chunks().next()).rejects.toThrow('the spooled body is closed');
    await expect(body.write(Buffer.from('x'))).rejects.toThrow('the spooled body is closed');
  });
});

describe('SpooledBody.write', () => {
  it('asked twice at once appends both, in the order asked', async () => {
    const body = await SpooledBody.create(spoolDir);
    await Promise.all([body.write(Buffer.alloc(1000, 1)), body.write(Buffer.alloc(1000, 2))]);
    const whole = await readWhole(body);
    await body.close();
    expect({ size: body.size, length: whole.length, first: whole[0], last: whole[1999], cut: whole[999] * 10 + whole[1000] }).toEqual({
      size: 2000,
      length: 2000,
      first: 1,
      last: 2,
      cut: 12,
    });
  });
});

describe('scanSpooledObject', () => {
  it('hands over the items of the first top-level list one by one and keeps the envelope with the list empty', async () => {
    // Brackets, braces, commas and escaped quotes inside strings; a nested list inside an item; another list after.
    const text = `{ "note": "a \\"q\\" [x], {y}", "entries" : [ {"a":[1,2],"s":"],\\\\"} , {"b":{"c":"{"}} ,3 ], "cursor": "k", "other": [9] }`;
    const body = await SpooledBody.create(spoolDir);
    await body.write(Buffer.from(text.slice(0, 20)));
    await body.write(Buffer.from(text.slice(20)));
    try {
      // Read whole, and a few bytes at a time (every token split across chunks somewhere).
      for (const chunkBytes of [256 * 1024, 1, 2, 3, 7]) {
        const items: string[] = [];
        const envelope = await scanSpooledObject(body, (item) => items.push(item), chunkBytes);
        expect(items).toEqual(['{"a":[1,2],"s":"],\\\\"}', '{"b":{"c":"{"}}', '3']);
        expect(items.map((i) => JSON.parse(i))).toEqual(JSON.parse(text).entries);
        expect(envelope.list?.key).toBe('entries');
        expect(JSON.parse(envelope.text)).toEqual({ ...JSON.parse(text), entries: [] });
        expect(envelope.text[envelope.list!.at]).toBe('[');
      }
    } finally {
      await body.close();
    }
  });
});
