import { describe, expect, it } from '@jest/globals';
import { parseKlearAnswer } from './klear-answer';
import {
  KlearAuthError,
  KlearHttpError,
  KlearNetworkError,
  KlearSchemaError,
  KlearTimeoutError,
  isKlearOutageError,
  isRetryableKlearError,
} from './klear-errors';
import { exchange } from './klear-transport';
import { SecretRedactor } from './secret-redactor';

const balanceBody = '{"user_id":"u1","balance_available_centicents":9007199254740993,"locked_balance_centicents":0}';

describe('parseKlearAnswer', () => {
  it('turns every centicents integer into an exact bigint, beyond 2^53', () => {
    const data = parseKlearAnswer('settlementBalance', balanceBody);
    expect(data.balance_available_centicents).toBe(9007199254740993n);
  });

  it('names the endpoint and the field of a mistyped value and keeps the raw body out of enumeration', () => {
    const body = '{"user_id":"u1","balance_available_centicents":"12"}';
    let error: unknown;
    try {
      parseKlearAnswer('settlementBalance', body);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KlearSchemaError);
    const schemaError = error as KlearSchemaError;
    expect(schemaError.endpoint).toBe('GET /margin/settlement_balance');
    expect(schemaError.issues.map((i) => i.path)).toEqual(['balance_available_centicents']);
    expect(schemaError.message).toContain('GET /margin/settlement_balance');
    expect(schemaError.rawBody).toBe(body);
    expect(Object.keys(schemaError)).not.toContain('rawBody');
    expect(JSON.stringify(schemaError)).not.toContain('balance_available_centicents":"12');
  });

  it('refuses a fractional amount instead of rounding it, with an indexed path', () => {
    const body =
      '{"entries":[{"balance_delta_centicents":1.5,"locked_balance_delta_centicents":0,"reason":"x","business_transaction_id":"b","created_ts":"2026-11-20T21:00:00Z"}]}';
    expect(() => parseKlearAnswer('settlementBalanceHistory', body)).toThrow(/entries\[0\]\.balance_delta_centicents/);
  });

  it('reports a body that is not JSON as a schema error with the body kept', () => {
    expect(() => parseKlearAnswer('guarantyFundBalance', '<html>bad gateway</html>')).toThrow(KlearSchemaError);
  });
});

describe('error classification', () => {
  const http = (status: number) => new KlearHttpError('GET /margin/reports', status, undefined, undefined, undefined);

  it('retries reads on 429, 5xx, timeouts and resets only', () => {
    expect([429, 500, 502, 503, 504].map((s) => isRetryableKlearError(http(s)))).toEqual([true, true, true, true, true]);
    expect([400, 404].map((s) => isRetryableKlearError(http(s)))).toEqual([false, false]);
    expect(isRetryableKlearError(new KlearAuthError('GET /x', 401, 'unauthorized', undefined, undefined))).toBe(false);
    expect(isRetryableKlearError(new KlearTimeoutError('GET /x', 100))).toBe(true);
    expect(isRetryableKlearError(new KlearNetworkError('GET /x', 'ECONNRESET', true))).toBe(true);
    expect(isRetryableKlearError(new KlearSchemaError('GET /x', 200, [], '{}'))).toBe(false);
  });

  it('counts only outages (5xx, timeouts, resets) towards the circuit, not 429 or 4xx', () => {
    expect(isKlearOutageError(http(503))).toBe(true);
    expect(isKlearOutageError(http(429))).toBe(false);
    expect(isKlearOutageError(http(400))).toBe(false);
    expect(isKlearOutageError(new KlearTimeoutError('GET /x', 100))).toBe(true);
  });
});

describe('exchange', () => {
  const request = {
    method: 'GET' as const,
    url: 'http://klear.test/margin/reports?x=1',
    headers: {},
    endpoint: 'GET /margin/reports',
    timeoutMs: 30,
  };

  it('maps a connection reset to a network error that may have reached Klear', async () => {
    const reset = (() =>
      Promise.reject(new TypeError('fetch failed', { cause: Object.assign(new Error('read'), { code: 'ECONNRESET' }) }))) as typeof fetch;
    const error = await exchange(request, reset).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KlearNetworkError);
    expect(error).toMatchObject({ networkCode: 'ECONNRESET', requestSent: true, endpoint: 'GET /margin/reports' });
  });

  it('maps a refused connection to a network error that never reached Klear', async () => {
    const refused = (() =>
      Promise.reject(
        new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }),
      )) as typeof fetch;
    expect(await exchange(request, refused).catch((e: unknown) => e)).toMatchObject({ requestSent: false });
  });

  it('aborts a request that outlives its timeout and says so without the URL', async () => {
    const hang = ((_url: string, init: RequestInit) =>
      new Promise((_resolve, reject) =>
        init.signal!.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
      )) as unknown as typeof fetch;
    const error = (await exchange(request, hang).catch((e: unknown) => e)) as KlearTimeoutError;
    expect(error).toBeInstanceOf(KlearTimeoutError);
    expect(error.message).toBe('Klear GET /margin/reports did not answer within 30 ms');
  });
});

describe('SecretRedactor', () => {
  it('removes known secrets and generic secret patterns from a text', () => {
    const redactor = new SecretRedactor();
    redactor.add('admin-1:tok-abcdef', 'tok-abcdef', 'pa55word!');
    const text = redactor.redact('bad token tok-abcdef for admin-1:tok-abcdef, pw pa55word! url https://files/x?X-Amz-Signature=abc123');
    expect(text).toBe('bad token [REDACTED] for [REDACTED], pw [REDACTED] url https://files/x?X-Amz-Signature=[REDACTED]');
  });
});
