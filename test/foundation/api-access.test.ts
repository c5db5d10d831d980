import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ROLES, type Role } from '@app/auth';
import { nestRoutes, routerRoutes } from '@app/testing';
import { type ApiWorld, startApiWorld } from '../support/api-world';
import type { Test as SupertestCall } from 'supertest';

let ctx: ApiWorld;
beforeAll(async () => {
  ctx = await startApiWorld();
});
afterAll(async () => ctx?.close());

const toExpressPath = (path: string) =>
  path.replace(/:(\w+)/g, (_m, name: string) => (name === 'name' ? 'settlement_balance' : '00000000-0000-4000-8000-000000000000'));

function call(method: string, path: string, token?: string) {
  const req = (ctx.http() as unknown as Record<string, (p: string) => SupertestCall>)[method.toLowerCase()](toExpressPath(path));
  if (token) req.set('Authorization', `Bearer ${token}`);
  return req.send({});
}

describe('access control over every registered route', () => {
  it('the router serves exactly the routes Nest declares, each public or with roles', () => {
    const declared = nestRoutes(ctx.app)
      .map((r) => `${r.method} ${r.path}`)
      .sort();
    // The OpenAPI UI and document are served outside Nest's controllers and hold no data: public.
    const served = routerRoutes(ctx.app)
      .filter((r) => !/^\/docs(-json|-yaml|\/|$)/.test(r.path))
      .map((r) => `${r.method} ${r.path}`)
      .sort();
    expect(served).toEqual(declared);
    for (const route of nestRoutes(ctx.app)) {
      expect(route.public || route.roles.length > 0).toBe(true);
    }
    const publicRoutes = nestRoutes(ctx.app)
      .filter((r) => r.public)
      .map((r) => r.path)
      .sort();
    // POST /session is the console's sign-in (password + TOTP, throttled): public by nature. Redeeming an
    // invitation: the person has no token yet; the code is the credential (counted by the failed-authentication limiter).
    expect(publicRoutes).toEqual(['/health/live', '/health/ready', '/invitations/redeem', '/session']);
  });

  it('answers 401 without a token on every protected route', async () => {
    for (const route of nestRoutes(ctx.app).filter((r) => !r.public)) {
      const res = await call(route.method, route.path);
      expect({ route: `${route.method} ${route.path}`, status: res.status, code: res.body.code }).toEqual({
        route: `${route.method} ${route.path}`,
        status: 401,
        code: 'UNAUTHENTICATED',
      });
    }
  });

  it('answers 403 to each role a route does not allow, and lets allowed roles through', async () => {
    for (const route of nestRoutes(ctx.app).filter((r) => !r.public)) {
      for (const role of ROLES) {
        const allowed = route.roles.includes(role) || route.roles.includes('viewer');
        const res = await call(route.method, route.path, ctx.tokens[role as Role]);
        const label = `${route.method} ${route.path} as ${role}`;
        if (allowed) expect({ label, forbidden: res.status === 403 || res.status === 401 }).toEqual({ label, forbidden: false });
        else expect({ label, status: res.status, code: res.body.code }).toEqual({ label, status: 403, code: 'FORBIDDEN' });
      }
    }
  });

  it('rejects a token at once after it is revoked, and an unknown token', async () => {
    const user = await ctx.newUser('revocable', ['viewer']);
    expect((await call('GET', '/audit', user.token)).status).toBe(200);
    const list = await call('GET', '/users', ctx.tokens.admin);
    const tokenId = list.body.data.find((u: { name: string }) => u.name === 'revocable').tokens[0].id;
    const revoked = await call('DELETE', `/tokens/${tokenId}`, ctx.tokens.admin);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).toEqual(expect.any(String));
    const after = await call('GET', '/audit', user.token);
    expect(after.status).toBe(401);
    expect((await call('GET', '/audit', 'kso_' + 'x'.repeat(43))).status).toBe(401);
  });
});

describe('health and docs', () => {
  it('reports liveness and bare readiness without a token, and the checks only with one', async () => {
    expect((await ctx.http().get('/health/live')).body).toEqual({ status: 'ok' });
    const bare = await ctx.http().get('/health/ready');
    expect(bare.status).toBe(200);
    // Nothing was ever pulled from Klear here: serving, but degraded (which pulls: /health/details).
    expect(bare.body).toEqual({ status: 'degraded' });
    expect((await ctx.http().get('/health/details')).status).toBe(401);
    const ready = await ctx.http().get('/health/details').set('Authorization', `Bearer ${ctx.tokens.viewer}`);
    expect(ready.status).toBe(200);
    expect(ready.body.checks.database.status).toBe('up');
    expect(ready.body.checks.migrations.status).toBe('up');
    expect(ready.body.checks.klear.status).toBe('down');
    expect(ready.body.stale).toEqual(['balance', 'active_obligations', 'estimate']);
  });

  it('serves an OpenAPI document listing bearer auth and the error shape', async () => {
    const doc = await ctx.http().get('/docs-json');
    expect(doc.status).toBe(200);
    expect(doc.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(doc.body.components.schemas.ErrorBody.properties).sort()).toEqual(['code', 'details', 'error_id', 'message']);
    expect(doc.body.paths['/users'].post.responses['403']).toBeDefined();
  });
});

describe('validation and errors', () => {
  it('names every invalid field and rejects unknown fields without writing anything', async () => {
    const before = await ctx.db.count('app_user');
    const res = await ctx
      .http()
      .post('/users')
      .set('Authorization', `Bearer ${ctx.tokens.admin}`)
      .send({ name: 'bad name!', roles: ['root'], is_admin: true });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    const fields = res.body.details.map((d: { field: string }) => d.field).sort();
    expect(fields).toEqual(['is_admin', 'name', 'roles']);
    expect(res.body.details.find((d: { field: string }) => d.field === 'is_admin').problems).toEqual(['unknown field']);
    expect(await ctx.db.count('app_user')).toBe(before);
  });

  it('answers malformed JSON with a 400 in the error shape', async () => {
    const res = await ctx
      .http()
      .post('/users')
      .set('Authorization', `Bearer ${ctx.tokens.admin}`)
      .set('Content-Type', 'application/json')
      .send('{"name": ');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ code: 'MALFORMED_JSON', message: 'the request body is not valid JSON' });
  });

  it('creates a service account and shows a new token once, audited in the hash chain', async () => {
    const created = await call('POST', '/users', ctx.tokens.admin).send({ name: 'carol', roles: ['operator', 'viewer'], kind: 'service' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'carol', roles: ['operator', 'viewer'] });
    const issued = await ctx
      .http()
      .post(`/users/${created.body.id}/tokens`)
      .set('Authorization', `Bearer ${ctx.tokens.admin}`)
      .send({ label: 'script' });
    expect(issued.status).toBe(201);
    expect(issued.body.token).toMatch(/^kso_/);
    const listed = await call('GET', '/users', ctx.tokens.admin);
    expect(JSON.stringify(listed.body)).not.toContain(issued.body.token);
    const duplicate = await ctx
      .http()
      .post('/users')
      .set('Authorization', `Bearer ${ctx.tokens.admin}`)
      .send({ name: 'carol', roles: ['viewer'] });
    expect(duplicate.status).toBe(409);
    const audit = await ctx.http().get('/audit?entity=user').set('Authorization', `Bearer ${ctx.tokens.viewer}`);
    expect(audit.body.chain.ok).toBe(true);
    expect(audit.body.data.map((r: { action: string }) => r.action)).toContain('user.create');
  });
});
