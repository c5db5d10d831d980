import { KlearNetworkError, KlearTimeoutError } from './klear-errors';

export interface KlearExchangeRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** `GET /margin/reports`: what errors name (never the URL's query). */
  endpoint: string;
  timeoutMs: number;
}

export interface KlearExchange {
  status: number;
  headers: Headers;
  body: Buffer;
  receivedAt: Date;
}

// Connection never established: the request cannot have reached Klear.
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * One HTTP exchange with a deadline covering the whole answer (headers and body). Maps failures to
 * KlearTimeoutError / KlearNetworkError without quoting the URL or headers.
 */
export async function exchange(request: KlearExchangeRequest, fetchImpl: typeof fetch = fetch): Promise<KlearExchange> {
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
    const body = Buffer.from(await response.arrayBuffer());
    return { status: response.status, headers: response.headers, body, receivedAt: new Date() };
  } catch (error) {
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
