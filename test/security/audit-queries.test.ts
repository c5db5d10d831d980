import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AUDIT_ENTITIES } from '@apps/api';
import { productSources, ROOT } from '../support/product-sources';
import { type ApiWorld, startApiWorld } from '../support/api-world';
import { SteppedClock } from '../support/stepped-clock';

/** Issue 22: the audit log newest first, by actor and time range, entity names that answer (no silent empty page). */
describe('reading the audit log', () => {
  let ctx: ApiWorld;
  const clock = new SteppedClock();
  const HOUR = 3_600_000;
  /** Each service account and the instant just before it was made (the clock jumps an hour between them). */
  const made: Array<{ name: string; at: string }> = [];
  type Row = { seq: string; actor: string; action: string; entity: string; entity_id: string; occurred_at: string };
  const read = async (query: string, token = ctx.tokens.viewer) => {
    const res = await ctx.http().get(`/audit?${query}`).set('Authorization', `Bearer ${token}`);
    return res as unknown as { status: number; body: { data: Row[]; next_cursor: string | null; code?: string; message?: string } };
  };

  beforeAll(async () => {
    ctx = await startApiWorld({}, { clock });
    for (const name of ['audit-svc-1', 'audit-svc-2', 'audit-svc-3', 'audit-svc-4']) {
      clock.jump(HOUR);
      made.push({ name, at: clock.now().toISOString() });
      const res = await ctx
        .http()
        .post('/users')
        .set('Authorization', `Bearer ${ctx.tokens.admin}`)
        .send({ name, roles: ['viewer'], kind: 'service' });
      expect(res.status).toBe(201);
    }
  });
  afterAll(() => ctx?.close());

  it('answers newest first by default, in numeric seq order across pages, and oldest first with ?order=asc', async () => {
    const newest: Row[] = [];
    let cursor: string | null = null;
    do {
      const page = await read(`limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      newest.push(...page.body.data);
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(newest.length).toBeGreaterThan(10);
    const seqs = newest.map((r) => BigInt(r.seq));
    expect(seqs).toEqual([...seqs].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));
    expect(seqs[seqs.length - 1]).toBe(1n);
    const oldest = await read('order=asc&limit=500');
    expect(oldest.body.data.map((r) => r.seq)).toEqual(newest.map((r) => r.seq).reverse());
    expect((await read('order=sideways')).status).toBe(400);
  });

  it('filters by actor and by time range (from inclusive, to exclusive)', async () => {
    const byAdmin = await read('actor=test-admin&entity=user&order=asc');
    expect(byAdmin.body.data.map((r) => r.action)).toEqual(['user.create', 'user.create', 'user.create', 'user.create']);
    expect(new Set(byAdmin.body.data.map((r) => r.actor))).toEqual(new Set(['test-admin']));
    const second = made[1].at;
    const third = made[2].at;
    const between = await read(`actor=test-admin&from=${second}&to=${third}`);
    expect(between.body.data).toHaveLength(1);
    expect(between.body.data[0].action).toBe('user.create');
    expect(Date.parse(between.body.data[0].occurred_at)).toBeGreaterThanOrEqual(Date.parse(second));
    expect(Date.parse(between.body.data[0].occurred_at)).toBeLessThan(Date.parse(third));
    expect((await read(`from=${third}&to=${second}`)).status).toBe(400);
    expect((await read('from=yesterday')).status).toBe(400);
    expect((await read('actor=nobody-at-all')).body.data).toEqual([]);
  });

  it('takes the names a person reaches for (break, token, policy) and refuses an unknown one with 400 naming the known ones', async () => {
    const tokens = await read('entity=token');
    expect(tokens.status).toBe(200);
    expect(tokens.body.data.length).toBeGreaterThan(0);
    expect(new Set(tokens.body.data.map((r) => r.entity))).toEqual(new Set(['api_token']));
    expect((await read('entity=break')).status).toBe(200);
    expect((await read('entity=withdrawal')).status).toBe(200);
    const unknown = await read('entity=brake');
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('UNKNOWN_AUDIT_ENTITY');
    expect(unknown.body.message).toContain('recon_break');

    const entities = await ctx.http().get('/audit/entities').set('Authorization', `Bearer ${ctx.tokens.operator}`);
    expect(entities.status).toBe(200);
    expect(entities.body.aliases).toMatchObject({ break: 'recon_break', token: 'api_token' });
    const users = entities.body.data.find((e: { entity: string }) => e.entity === 'user');
    const userRows = await read('entity=user&limit=500');
    expect(users.rows).toBe(userRows.body.data.length);
    expect(entities.body.data.find((e: { entity: string }) => e.entity === 'recon_break')).toEqual({ entity: 'recon_break', rows: 0 });
  });
});

describe('the audited entity names', () => {
  it('lists every entity type the product writes to the audit log (GET /audit/entities cannot drift from the code)', () => {
    const written = new Set<string>();
    for (const dir of ['apps/api', 'apps/worker', 'apps/cli', 'libs']) {
      for (const file of productSources(join(ROOT, dir), /\.ts$/)) {
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(/entityType: '([a-z_]+)'/g)) written.add(m[1]);
        for (const m of text.matchAll(/const \w+_ENTITY = '([a-z_]+)'/g)) written.add(m[1]);
      }
    }
    expect(written.size).toBeGreaterThan(10);
    expect([...written].sort()).toEqual([...AUDIT_ENTITIES].sort());
  });
});
