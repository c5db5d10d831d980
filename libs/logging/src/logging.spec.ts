import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from '@jest/globals';
import { httpLoggerParams, requestIdOf } from './logging';
import { loggableTarget } from './redaction';

describe('request logs', () => {
  it('keep the path and ordinary query parameters, and redact only secret ones', () => {
    expect(loggableTarget('/ledger/entries?limit=50&cursor=WyIxMiJd')).toEqual({
      path: '/ledger/entries',
      query: 'limit=50&cursor=WyIxMiJd',
    });
    expect(loggableTarget('/reports/7/file?token=kso_abc&X-Amz-Signature=deadbeef&expires=1&sig=x')).toEqual({
      path: '/reports/7/file',
      query: 'token=[REDACTED]&X-Amz-Signature=[REDACTED]&expires=1&sig=[REDACTED]',
    });
    expect(loggableTarget('/audit')).toEqual({ path: '/audit' });
    // A token pasted as a value of an innocent-looking parameter is still scrubbed by pattern.
    expect(loggableTarget(`/audit?entity=kso_${'a'.repeat(43)}`).query).toBe('entity=[REDACTED_API_TOKEN]');
  });

  it('accept a caller request id only when well formed', () => {
    const req = (id: string | string[] | undefined) => ({ headers: { 'x-request-id': id } }) as unknown as IncomingMessage;
    expect(requestIdOf(req('ops-check-2026.11.05:001'))).toBe('ops-check-2026.11.05:001');
    for (const bad of ['short', 'has space in it', 'x'.repeat(65), 'inject\nline', undefined, ['a-valid-id-1', 'a-valid-id-2']]) {
      expect(requestIdOf(req(bad))).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
    }
  });

  it('carry who called once authenticated: user id and token id, never the token', () => {
    const options = httpLoggerParams('api', 'info').pinoHttp as { customProps: (req: unknown, res: unknown) => Record<string, string> };
    const req = { headers: {}, principal: { userId: 'u-1', tokenId: 't-1', name: 'alice', roles: ['viewer'] } };
    expect(options.customProps(req, {})).toEqual({ user_id: 'u-1', token_id: 't-1' });
    expect(options.customProps({ headers: {} }, {})).toEqual({});
  });
});
