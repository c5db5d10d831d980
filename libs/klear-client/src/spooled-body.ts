import { randomUUID } from 'node:crypto';
import { close, constants, open, read, unlink, write } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { promisify } from 'node:util';

const openFile = promisify(open);
const readFile = promisify(read);
const writeFile = promisify(write);
const closeFile = promisify(close);
const unlinkFile = promisify(unlink);

/** Linux's O_TMPFILE (`__O_TMPFILE | O_DIRECTORY`): a file made without a name in the directory opened. */
const O_TMPFILE = process.platform === 'linux' ? 0o20000000 | constants.O_DIRECTORY : undefined;
/** What a filesystem without O_TMPFILE (or an older kernel) answers it. */
const NO_TMPFILE = new Set(['EISDIR', 'EOPNOTSUPP', 'ENOTSUP', 'EINVAL']);

/**
 * An answer body on disk that has no name, written and read through its descriptor only: on Linux the
 * file is made without one (O_TMPFILE, O_EXCL: it can never be given one); elsewhere, or on a
 * filesystem without O_TMPFILE, it is created exclusively as `klear-body-<uuid>.json` and unlinked at
 * once. Mode 0600 either way. So nothing of it stays on disk once it is closed, nor when the process
 * ends however it ends (a crash, a kill -9), and no other process finds it by name. Read any number of
 * times, each from the start. `close()` is idempotent, never fails, and waits for the reads and writes
 * in flight (the descriptor's number is never closed under one of them). A body dropped without a
 * close has its descriptor closed when it is garbage-collected (an operation in flight holds it).
 */
export class SpooledBody {
  private static readonly dropped = new FinalizationRegistry<number>((fd) => close(fd, () => undefined));
  /** Directories made (if missing, mode 0700) by this process. */
  private static readonly made = new Map<string, Promise<unknown>>();
  private fd: number | undefined;
  private written = 0;
  private busy = 0;
  private idle: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  /** The last write asked for (each starts when the one before has ended). */
  private writes: Promise<void> = Promise.resolve();

  private constructor(fd: number) {
    this.fd = fd;
    SpooledBody.dropped.register(this, fd, this);
  }

  /** A new empty body in `dir` (made if missing, mode 0700), already without a name. */
  static async create(dir: string): Promise<SpooledBody> {
    try {
      return new SpooledBody(await SpooledBody.openNameless(dir));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // The directory is missing (never made, or removed since): made, then asked once more.
      SpooledBody.made.delete(dir);
      return new SpooledBody(await SpooledBody.openNameless(dir));
    }
  }

  private static async openNameless(dir: string): Promise<number> {
    let made = SpooledBody.made.get(dir);
    if (made === undefined) {
      made = mkdir(dir, { recursive: true, mode: 0o700 });
      made.catch(() => SpooledBody.made.delete(dir));
      SpooledBody.made.set(dir, made);
    }
    await made;
    if (O_TMPFILE !== undefined) {
      try {
        return await openFile(dir, O_TMPFILE | constants.O_RDWR | constants.O_EXCL, 0o600);
      } catch (error) {
        if (!NO_TMPFILE.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
      }
    }
    const path = join(dir, `klear-body-${randomUUID()}.json`);
    const fd = await openFile(path, 'wx+', 0o600);
    try {
      await unlinkFile(path);
    } catch (error) {
      await closeFile(fd).catch(() => undefined);
      throw error;
    }
    return fd;
  }

  /** Bytes written so far. */
  get size(): number {
    return this.written;
  }

  get closed(): boolean {
    return this.fd === undefined;
  }

  /** Appends `chunk`; writes made at once go one after the other, in the order they were asked. */
  write(chunk: Buffer): Promise<void> {
    const written = this.writes.then(() => this.append(chunk));
    this.writes = written.catch(() => undefined);
    return written;
  }

  private async append(chunk: Buffer): Promise<void> {
    await this.using(async (fd) => {
      for (let done = 0; done < chunk.length;) {
        const { bytesWritten } = await writeFile(fd, chunk, done, chunk.length - done, this.written);
        if (bytesWritten === 0) throw new Error('the spool file took no bytes');
        done += bytesWritten;
        this.written += bytesWritten;
      }
    });
  }

  /** The whole body from its first byte, `chunkBytes` at a time. */
  async *chunks(chunkBytes = 1024 * 1024): AsyncGenerator<Buffer> {
    for (let position = 0; position < this.written;) {
      const buffer = Buffer.allocUnsafe(Math.min(chunkBytes, this.written - position));
      const { bytesRead } = await this.using((fd) => readFile(fd, buffer, 0, buffer.length, position));
      if (bytesRead === 0) throw new Error('the spooled body ended before its size');
      position += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  }

  /** Frees the disk space (the file has no name: closing its descriptor is its removal). */
  close(): Promise<void> {
    this.closing ??= this.release();
    return this.closing;
  }

  private async release(): Promise<void> {
    const fd = this.fd;
    if (fd === undefined) return;
    this.fd = undefined; // no new operation starts
    SpooledBody.dropped.unregister(this);
    if (this.busy > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    // After close(2) the descriptor is released whatever it answers: nothing to retry.
    await closeFile(fd).catch(() => undefined);
  }

  private async using<T>(operation: (fd: number) => Promise<T>): Promise<T> {
    if (this.fd === undefined) throw new Error('the spooled body is closed');
    this.busy += 1;
    try {
      return await operation(this.fd);
    } finally {
      this.busy -= 1;
      if (this.busy === 0) this.idle?.();
    }
  }
}

/**
 * The spooled text is not one JSON object: cut short or unbalanced (an unclosed string, list or
 * object). What Klear sent breaks the contract, as a body held in memory that `JSON.parse` refuses.
 */
export class SpooledJsonError extends Error {
  constructor() {
    super('the spooled body is not one complete JSON object');
    this.name = 'SpooledJsonError';
  }
}

/**
 * A JSON object read from a file as a stream, never whole: the first top-level member whose value is
 * an array (the answer's list: `obligations`, `entries`, `settlement_details`, ...) is handed over one
 * item at a time, as the item's text; the rest (the envelope: `cursor`, ...) is kept, with that list
 * written empty. Memory: one item and the envelope.
 */
export interface SpooledEnvelope {
  /** The object's text with its list written `[]`. */
  text: string;
  /** The list's member name, and where its `[` is in `text` (undefined: no list). */
  list?: { key: string; at: number };
}

/**
 * Scans the JSON object spooled in `body`; calls `onItem` with each item of its first top-level list (in
 * order). Throws SpooledJsonError on text that is not one JSON object (what is malformed inside an
 * item or the envelope is left to the JSON parser).
 */
export async function scanSpooledObject(
  body: SpooledBody,
  onItem?: (text: string, index: number) => void,
  chunkBytes = 256 * 1024,
): Promise<SpooledEnvelope> {
  const decoder = new StringDecoder('utf8');
  const envelope: string[] = [];
  let envelopeLength = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  /** The last string read at depth 1 (a member name, when a ':' follows). */
  let lastString = '';
  let stringStart = -1;
  let stringAtDepth1 = '';
  let list: SpooledEnvelope['list'];
  /** Inside the list (depth 2 is an item's top). */
  let inList = false;
  let listDone = false;
  let item: string[] = [];
  let itemIndex = 0;
  const keep = (text: string) => {
    envelope.push(text);
    envelopeLength += text.length;
  };
  const endItem = () => {
    const text = item.join('').trim();
    item = [];
    if (text.length > 0) onItem?.(text, itemIndex++);
  };

  const scan = (chunk: string) => {
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') {
          inString = false;
          if (depth === 1 && !inList) lastString = stringAtDepth1 + chunk.slice(stringStart, i);
        }
        continue;
      }
      if (c === '"') {
        inString = true;
        stringStart = i + 1;
        stringAtDepth1 = '';
        continue;
      }
      if (c === '{' || c === '[') {
        depth++;
        if (c === '[' && depth === 2 && list === undefined && !listDone) {
          // The first top-level list: its items go to onItem, the envelope keeps `[]`.
          keep(chunk.slice(from, i + 1));
          list = { key: lastString, at: envelopeLength - 1 };
          inList = true;
          from = i + 1;
        }
        continue;
      }
      if (c === '}' || c === ']') {
        if (inList && depth === 2) {
          item.push(chunk.slice(from, i));
          endItem();
          inList = false;
          listDone = true;
          from = i;
        }
        depth--;
        continue;
      }
      if (c === ',' && inList && depth === 2) {
        item.push(chunk.slice(from, i));
        endItem();
        from = i + 1;
      }
    }
    // Carry what is pending to the next chunk.
    if (inString && depth === 1 && !inList) stringAtDepth1 += chunk.slice(stringStart);
    stringStart = 0;
    if (inList) item.push(chunk.slice(from));
    else keep(chunk.slice(from));
  };

  for await (const bytes of body.chunks(chunkBytes)) scan(decoder.write(bytes));
  scan(decoder.end());
  if (depth !== 0 || inString || inList) throw new SpooledJsonError();
  return { text: envelope.join(''), list };
}
