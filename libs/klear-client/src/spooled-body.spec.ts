import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { exchange } from './klear-transport';
import { scanSpooledObject } from './spooled-body';

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
  it('is never held in memory past the cap: it streams into a spool file, hashed and sized as it came', async () => {
    const cap = 256 * 1024;
    const answer = await exchange(
      { method: 'GET', url: 'http://klear/x', headers: {}, endpoint: 'GET /x', timeoutMs: 60_000, maxBufferBytes: cap },
      streamingFetch(20 * 1024 * 1024, 64 * 1024),
    );
    try {
      expect(answer.bodyFile).toBeDefined();
      expect(answer.body.length).toBe(0);
      expect(answer.bufferedBytes).toBeLessThanOrEqual(cap);
      const onDisk = readFileSync(answer.bodyFile!);
      expect(onDisk.length).toBe(answer.size);
      expect(answer.size).toBeGreaterThan(80 * cap);
      expect(createHash('sha256').update(onDisk).digest('hex')).toBe(answer.sha256);
    } finally {
      if (answer.bodyFile) rmSync(answer.bodyFile, { force: true });
    }
  });

  it('stays in memory when it fits under the cap', async () => {
    const answer = await exchange(
      { method: 'GET', url: 'http://klear/x', headers: {}, endpoint: 'GET /x', timeoutMs: 60_000, maxBufferBytes: 1024 * 1024 },
      streamingFetch(100 * 1024, 16 * 1024),
    );
    expect(answer.bodyFile).toBeUndefined();
    expect(answer.body.length).toBe(answer.size);
  });
});

describe('scanSpooledObject', () => {
  it('hands over the items of the first top-level list one by one and keeps the envelope with the list empty', async () => {
    const path = join(tmpdir(), `scan-${process.pid}-${Date.now()}.json`);
    // Brackets, braces, commas and escaped quotes inside strings; a nested list inside an item; another list after.
    const text = `{ "note": "a \\"q\\" [x], {y}", "entries" : [ {"a":[1,2],"s":"],\\\\"} , {"b":{"c":"{"}} ,3 ], "cursor": "k", "other": [9] }`;
    writeFileSync(path, text);
    try {
      // Read whole, and a few bytes at a time (every token split across chunks somewhere).
      for (const chunkBytes of [256 * 1024, 1, 2, 3, 7]) {
        const items: string[] = [];
        const envelope = await scanSpooledObject(path, (item) => items.push(item), chunkBytes);
        expect(items).toEqual(['{"a":[1,2],"s":"],\\\\"}', '{"b":{"c":"{"}}', '3']);
        expect(items.map((i) => JSON.parse(i))).toEqual(JSON.parse(text).entries);
        expect(envelope.list?.key).toBe('entries');
        expect(JSON.parse(envelope.text)).toEqual({ ...JSON.parse(text), entries: [] });
        expect(envelope.text[envelope.list!.at]).toBe('[');
      }
    } finally {
      rmSync(path, { force: true });
    }
  });
});
