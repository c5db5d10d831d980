// Issue #14, confirmed items 2 and 4 and the HTTP hardening: bodies are read only after
// authentication and only up to the route's limit, failed authentications and expensive routes are
// rate limited (429 + Retry-After), forged cursors are a 400 naming the parameter, and every answer
// carries the security headers.
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { encodeCursor } from '@app/http';
import { type ApiWorld, startApiWorld } from '../support/api-world';

let ctx: ApiWorld;
let port: number;
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

beforeAll(async () => {
  ctx = await startApiWorld({ API_DEFAULT_BODY_LIMIT_KB: '64' });
  const server = ctx.app.getHttpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
}, 60_000);

afterAll(async () => ctx?.close());

/**
 * Sends headers announcing a 40 MB JSON body but only its first kilobyte, and waits for the answer:
 * an API that reads bodies before authenticating never answers (it waits for the other 40 MB).
 */
function answerToAnnouncedBody(
  headers: Record<string, string>,
  path = '/ledger/entries',
): Promise<{ status: number; connection: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(40 * 1024 * 1024), ...headers },
    });
    const deadline = setTimeout(() => {
      req.destroy();
      reject(new Error('no answer within 20 s: the API is waiting for the body before authenticating'));
    }, 20_000);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        clearTimeout(deadline);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body });
      });
    });
    req.on('error', (error) => {
      if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET' && (error as NodeJS.ErrnoException).code !== 'EPIPE') reject(error);
    });
    req.write(`{"entries":[${' '.repeat(1024)}`);
  });
}

describe('bodies are read only after authentication, up to the route limit', () => {
  it('answers 401 to a 40 MB body without a token before a byte more than the first kilobyte is sent, and closes the connection', async () => {
    const answer = await answerToAnnouncedBody({});
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body).code).toBe('UNAUTHENTICATED');
    expect(answer.connection).toBe('close');
  });

  it('answers 413 at once to an authenticated body announced over the route limit, naming the limit', async () => {
    const answer = await answerToAnnouncedBody(bearer(ctx.tokens.admin), '/users');
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { limit_bytes: 64 * 1024 } });
    expect(answer.connection).toBe('close');
  });

  it('limits ordinary routes to the small default and only ledger batches to the large limit', async () => {
    const big = { name: 'x'.repeat(100 * 1024), roles: ['viewer'] };
    const users = await ctx.http().post('/users').set(bearer(ctx.tokens.admin)).send(big);
    expect(users.status).toBe(413);
    expect(users.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { limit_bytes: 64 * 1024 } });
    const batch = await ctx
      .http()
      .post('/ledger/entries')
      .set(bearer(ctx.tokens.operator))
      .send({ entries: [{ external_id: 'X', description: 'y'.repeat(200 * 1024) }] });
    expect(batch.status).toBe(400);
    expect(batch.body.code).toBe('VALIDATION_FAILED');
    // A multipart upload with a declared length far above the JSON limit is the import route's business.
    const header =
      'external_id,entry_type,effective_at,cycle,subtrader_id,business_reference,description,reverses_external_id,account,market_ticker,amount_centicents';
    const rows = Array.from(
      { length: 3000 },
      (_, i) => `UP-${i},margin_requirement,2026-11-05T21:00:00Z,2026-11-05T21:00:00Z,ST-1,,,,maintenance_margin,,${i % 2 ? -1 : 1}`,
    );
    const form = new FormData();
    form.append('file', new Blob([`${header}\n${rows.join('\n')}\n`]), 'declared.csv');
    const upload = await fetch(`http://127.0.0.1:${port}/ledger/imports`, {
      method: 'POST',
      headers: bearer(ctx.tokens.operator),
      body: form,
    });
    expect(upload.status).toBe(400);
    expect(((await upload.json()) as { code: string }).code).toBe('LEDGER_IMPORT_REJECTED');
  });
});

describe('failed authentications', () => {
  let guarded: ApiWorld;
  beforeAll(async () => {
    guarded = await startApiWorld({
      API_AUTH_FAILURE_LIMIT: '5',
      API_AUTH_FAILURE_WINDOW_SECONDS: '3600',
      API_AUTH_FAILURE_BLOCK_SECONDS: '600',
    });
  }, 60_000);
  afterAll(async () => guarded?.close());

  it('block a client after 5 failures with 429 and Retry-After, even for a valid token; no credential at all is not counted', async () => {
    const wrong = `kso_${'A'.repeat(43)}`;
    for (let i = 0; i < 10; i++) expect((await guarded.http().get('/audit')).status).toBe(401);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await guarded.http().get('/audit').set(bearer(wrong))).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    const sixth = await guarded.http().get('/audit').set(bearer(wrong));
    expect(sixth.status).toBe(429);
    expect(sixth.body.code).toBe('AUTHENTICATION_THROTTLED');
    const retryAfter = Number(sixth.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(600);
    // While blocked, a correct token is not told apart from a wrong one.
    const valid = await guarded.http().get('/withdrawal-policy').set(bearer(guarded.tokens.viewer));
    expect(valid.status).toBe(429);
    // X-Forwarded-For is not believed without API_TRUST_PROXY: a blocked client cannot claim another address.
    expect(
      (await guarded.http().get('/withdrawal-policy').set('X-Forwarded-For', '203.0.113.9').set(bearer(guarded.tokens.viewer))).status,
    ).toBe(429);
    // Public routes stay open.
    expect((await guarded.http().get('/health/live')).status).toBe(200);
  });
});

describe('expensive routes', () => {
  let fresh: ApiWorld;
  beforeAll(async () => {
    fresh = await startApiWorld({ API_EXPENSIVE_ROUTE_LIMIT: '3', API_EXPENSIVE_ROUTE_WINDOW_SECONDS: '3600' });
  }, 60_000);
  afterAll(async () => fresh?.close());

  it('are limited per user with 429 and Retry-After, and another user keeps their own budget', async () => {
    const calls: number[] = [];
    for (let i = 0; i < 4; i++) calls.push((await fresh.http().get('/audit').set(bearer(fresh.tokens.viewer))).status);
    expect(calls).toEqual([200, 200, 200, 429]);
    const refused = await fresh.http().get('/audit').set(bearer(fresh.tokens.viewer));
    expect(refused.body.code).toBe('TOO_MANY_REQUESTS');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await fresh.http().get('/audit').set(bearer(fresh.tokens.operator))).status).toBe(200);
    // Cheap routes are not limited.
    for (let i = 0; i < 5; i++) expect((await fresh.http().get('/withdrawal-policy').set(bearer(fresh.tokens.viewer))).status).toBe(200);
  });

  it('forged cursors are a 400 naming the cursor parameter on every list route, never a 500', async () => {
    const forged = [
      encodeCursor(['x']),
      encodeCursor(['x', 'y']),
      encodeCursor([1, 2, 3]),
      encodeCursor(['2026-13-45T00:00:00.000Z', '00000000-0000-4000-8000-000000000000']),
      'bm90IGpzb24',
    ];
    const routes = [
      '/settlement/balance/history',
      '/reports',
      '/obligations',
      '/jobs/settlement_balance/runs',
      '/exports',
      '/reconciliations',
      '/reconciliations/1/breaks',
      '/breaks',
      '/ledger/entries',
      '/withdrawals',
      '/subtraders',
    ];
    for (const route of routes) {
      for (const cursor of forged) {
        const res = await fresh.http().get(route).query({ cursor }).set(bearer(fresh.tokens.operator));
        const label = `${route} ${Buffer.from(cursor, 'base64url').toString()}`;
        // /subtraders takes any short text: ["x"] is a cursor it could have made.
        if (route === '/subtraders' && cursor === forged[0]) {
          expect({ label, status: res.status }).toEqual({ label, status: 200 });
          continue;
        }
        expect({ label, status: res.status, field: res.body.details?.[0]?.field }).toEqual({ label, status: 400, field: 'cursor' });
      }
    }
    const audit = await ctx
      .http()
      .get('/audit')
      .query({ cursor: encodeCursor(['x']) })
      .set(bearer(ctx.tokens.admin));
    expect(audit.status).toBe(400);
    expect(audit.body.details).toEqual([{ field: 'cursor', problems: ['not a cursor returned by this API'] }]);
  });
});

describe('response headers', () => {
  it('sends helmet headers, a deny-all CSP and Cache-Control: no-store, above all on the answer that shows a new token', async () => {
    const created = await ctx
      .http()
      .post('/users')
      .set(bearer(ctx.tokens.admin))
      .send({ name: 'header-check', roles: ['viewer'], kind: 'service' });
    const issued = await ctx.http().post(`/users/${created.body.id}/tokens`).set(bearer(ctx.tokens.admin)).send({ label: 'x' });
    expect(issued.status).toBe(201);
    expect(issued.headers['cache-control']).toBe('no-store');
    expect(issued.headers['x-content-type-options']).toBe('nosniff');
    expect(issued.headers['strict-transport-security']).toMatch(/max-age=31536000/);
    expect(issued.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(issued.headers['x-powered-by']).toBeUndefined();
    const unauthenticated = await ctx.http().get('/users');
    expect(unauthenticated.headers['cache-control']).toBe('no-store');
    // no-store answers carry no ETag (none is hashed over their bodies); JSON stays application/json
    const listed = await ctx.http().get('/users').set(bearer(ctx.tokens.admin));
    expect(listed.status).toBe(200);
    expect(listed.headers['etag']).toBeUndefined();
    expect(listed.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('serves /docs with a CSP that lets Swagger UI run its own scripts only, and not at all when API_DOCS_ENABLED=false', async () => {
    const docs = await ctx.http().get('/docs/');
    expect(docs.status).toBe(200);
    expect(docs.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(docs.headers['content-security-policy']).not.toMatch(/script-src[^;]*unsafe-inline/);
    const off = await startApiWorld({ API_DOCS_ENABLED: 'false' });
    try {
      expect((await off.http().get('/docs-json')).status).toBe(404);
      expect((await off.http().get('/docs/')).status).toBe(404);
    } finally {
      await off.close();
    }
  });

  it('echoes a well-formed X-Request-Id and replaces a malformed one', async () => {
    const good = await ctx.http().get('/health/live').set('X-Request-Id', 'ops-check-2026.11.05:001');
    expect(good.headers['x-request-id']).toBe('ops-check-2026.11.05:001');
    const bad = await ctx.http().get('/health/live').set('X-Request-Id', 'forged id; DROP "x"');
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
