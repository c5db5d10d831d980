import { systemClock } from '@app/clock';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { KlearBodyTooLargeError, KlearClientError, KlearNetworkError, KlearSpoolError, KlearTimeoutError } from './klear-errors';
import { SpooledBody } from './spooled-body';

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
   * (`spooledBody`), so at most this many bytes of it are ever buffered. None: held in memory.
   */
  maxBufferBytes?: number;
  /** Where spool files are made (KLEAR_SPOOL_DIR); default the OS temp directory. */
  spoolDir?: string;
}

export interface KlearExchange {
  status: number;
  headers: Headers;
  body: Buffer;
  receivedAt: Date;
  /** Size and SHA-256 of the body as received (streamed or not). */
  size: number;
  sha256: string;
  /** The body spooled to disk (`body` is then empty): the caller reads it and closes it. */
  spooledBody?: SpooledBody;
  /** The most body bytes held in memory at once. */
  bufferedBytes: number;
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
    let spool: SpooledBody | undefined;
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
          const opened = await spooling(request.endpoint, () => SpooledBody.create(request.spoolDir ?? tmpdir()));
          spool = opened;
          for (const held of chunks) await spooling(request.endpoint, () => opened.write(held));
          chunks = [];
          buffered = 0;
        }
        const into = spool;
        if (into) await spooling(request.endpoint, () => into.write(chunk));
        else {
          chunks.push(chunk);
          buffered += chunk.length;
          bufferedBytes = Math.max(bufferedBytes, buffered);
        }
      }
      await sink?.close();
    } catch (error) {
      await sink?.discard();
      await spool?.close();
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
      ...(spool ? { spooledBody: spool } : {}),
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

/** A spool file operation; its failure is this host's (KlearSpoolError), not a network one. */
async function spooling<T>(endpoint: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw new KlearSpoolError(endpoint, (error as NodeJS.ErrnoException).code ?? 'EIO', { cause: error });
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
