import { systemClock } from '@app/clock';
import { createHash, randomUUID } from 'node:crypto';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KlearBodyTooLargeError, KlearClientError, KlearNetworkError, KlearTimeoutError } from './klear-errors';

/** Where a streamed answer goes (a file): opened per attempt, discarded when the attempt fails. */
export interface KlearBodySink {
  write(chunk: Buffer): Promise<void>;
  close(): Promise<void>;
  discard(): Promise<void>;
}

export interface KlearExchangeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** `GET /margin/reports`: what errors name (never the URL's query). */
  endpoint: string;
  timeoutMs: number;
  /** Bytes of body read at most (declared or streamed); more: KlearBodyTooLargeError. */
  maxBodyBytes?: number;
  /** A 2xx body goes here as it arrives instead of into memory (`body` is then empty). */
  openSink?: () => Promise<KlearBodySink>;
  /**
   * A 2xx body larger than this is not held in memory: past it, the body streams into a spool file
   * (`bodyFile`), so at most this many bytes of it are ever buffered. None: held in memory.
   */
  maxBufferBytes?: number;
}

export interface KlearExchange {
  status: number;
  headers: Headers;
  body: Buffer;
  receivedAt: Date;
  /** Size and SHA-256 of the body as received (streamed or not). */
  size: number;
  sha256: string;
  /** The body spooled to this file (`body` is then empty): the caller reads it and removes it. */
  bodyFile?: string;
  /** The most body bytes held in memory at once. */
  bufferedBytes: number;
}

/** Writes a body past the in-memory cap to a temporary file, removed if the attempt fails. */
class SpoolFile {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  static async open(): Promise<SpoolFile> {
    const path = join(tmpdir(), `klear-body-${randomUUID()}.json`);
    return new SpoolFile(path, await open(path, 'wx', 0o600));
  }

  async write(chunk: Buffer): Promise<void> {
    await this.handle.write(chunk);
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  async discard(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }
}

/** Error bodies are read for their message only: never more than this. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

// Connection never established: the request cannot have reached Klear.
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * One HTTP exchange with a deadline covering the whole answer (headers and body). Maps failures to
 * KlearTimeoutError / KlearNetworkError without quoting the URL or headers.
 */
export async function exchange(
  request: KlearExchangeRequest,
  fetchImpl: typeof fetch = fetch,
  nowMs: () => number = () => systemClock.nowMs(),
): Promise<KlearExchange> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, request.timeoutMs);
  try {
    const response = await fetchImpl(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: controller.signal,
      redirect: 'error',
    });
    const limit = response.ok
      ? (request.maxBodyBytes ?? Number.MAX_SAFE_INTEGER)
      : Math.min(request.maxBodyBytes ?? MAX_ERROR_BODY_BYTES, MAX_ERROR_BODY_BYTES);
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (response.ok && Number.isFinite(declared) && declared > limit) {
      controller.abort();
      throw new KlearBodyTooLargeError(request.endpoint, limit);
    }
    const sink = response.ok && request.openSink ? await request.openSink() : null;
    const cap = response.ok && !sink ? request.maxBufferBytes : undefined;
    const hash = createHash('sha256');
    let chunks: Buffer[] = [];
    let buffered = 0;
    let bufferedBytes = 0;
    let spool: SpoolFile | undefined;
    let size = 0;
    try {
      for await (const part of response.body ?? []) {
        const chunk = Buffer.from(part as Uint8Array);
        size += chunk.length;
        if (size > limit) {
          if (!response.ok) break; // an error body is only read for its message
          controller.abort();
          throw new KlearBodyTooLargeError(request.endpoint, limit);
        }
        hash.update(chunk);
        if (sink) {
          await sink.write(chunk);
          continue;
        }
        if (spool === undefined && cap !== undefined && buffered + chunk.length > cap) {
          // Past the cap: what was buffered goes to the spool file first, then every chunk as it comes.
          spool = await SpoolFile.open();
          for (const held of chunks) await spool.write(held);
          chunks = [];
          buffered = 0;
        }
        if (spool) await spool.write(chunk);
        else {
          chunks.push(chunk);
          buffered += chunk.length;
          bufferedBytes = Math.max(bufferedBytes, buffered);
        }
      }
      await sink?.close();
      await spool?.close();
    } catch (error) {
      await sink?.discard();
      await spool?.discard();
      throw error;
    }
    return {
      status: response.status,
      headers: response.headers,
      body: Buffer.concat(chunks),
      receivedAt: new Date(nowMs()),
      size,
      sha256: hash.digest('hex'),
      bufferedBytes,
      ...(spool ? { bodyFile: spool.path } : {}),
    };
  } catch (error) {
    if (error instanceof KlearClientError) throw error;
    if (timedOut) throw new KlearTimeoutError(request.endpoint, request.timeoutMs);
    const code = networkCode(error);
    throw new KlearNetworkError(request.endpoint, code, !NOT_SENT_CODES.has(code));
  } finally {
    clearTimeout(timer);
  }
}

function networkCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code.length > 0) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return 'UNKNOWN';
}
