import type { IncomingMessage, ServerResponse } from 'node:http';
import { stringifyKlearJson } from '@app/klear-contract';

/** What a handler answers; the server applies faults to it before it reaches the socket. */
export interface SimResponse {
  status: number;
  headers?: Record<string, string>;
  contentType?: string;
  /** A whole body, or chunks generated lazily (large obligations, report files). */
  body: string | Iterable<string>;
}

export class BadRequest extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export function jsonResponse(status: number, value: unknown, headers?: Record<string, string>): SimResponse {
  return { status, body: stringifyKlearJson(value), headers };
}

export function errorResponse(status: number, code: string, message: string, headers?: Record<string, string>): SimResponse {
  return jsonResponse(status, { code, message, service: 'klear-sim' }, headers);
}

/** Writes a response with backpressure. `resetMidBody` sends part of the body, then destroys the socket. */
export async function sendResponse(res: ServerResponse, response: SimResponse, resetMidBody = false): Promise<void> {
  res.statusCode = response.status;
  res.setHeader('content-type', response.contentType ?? 'application/json; charset=utf-8');
  for (const [name, value] of Object.entries(response.headers ?? {})) res.setHeader(name, value);
  if (typeof response.body === 'string') {
    const bytes = Buffer.from(response.body, 'utf8');
    res.setHeader('content-length', bytes.length);
    if (resetMidBody) {
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
      await new Promise((resolve) => setTimeout(resolve, 20));
      res.socket?.destroy();
      return;
    }
    res.end(bytes);
    return;
  }
  let written = 0;
  for (const chunk of response.body) {
    if (res.destroyed) return;
    if (!res.write(chunk)) await drainedOrClosed(res);
    written += chunk.length;
    if (resetMidBody && written > 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      res.socket?.destroy();
      return;
    }
  }
  res.end();
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export async function readBody(req: IncomingMessage, limitBytes = 1_000_000): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw new BadRequest('invalid_parameter', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function collectBody(body: string | Iterable<string>): string {
  return typeof body === 'string' ? body : Array.from(body).join('');
}
