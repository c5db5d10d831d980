import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiWorld, type ApiWorld } from '../support/api-world';

// What the console's notification preferences page reads: the kinds a person can choose and the channels,
// documented in OpenAPI like every route.
let ctx: ApiWorld;

beforeAll(async () => {
  ctx = await startApiWorld();
}, 120_000);

afterAll(async () => {
  await ctx?.close();
});

describe('GET /notifications/kinds', () => {
  it('lists every kind with its title and default audience, and the channels; any role may read it', async () => {
    const res = await ctx.http().get('/notifications/kinds').set('Authorization', `Bearer ${ctx.tokens.viewer}`);
    expect(res.status).toBe(200);
    expect(res.body.channels).toEqual(['email', 'slack']);
    const kinds = res.body.kinds as Array<{ kind: string; title: string; default_roles: string[] }>;
    expect(kinds.find((k) => k.kind === 'withdrawal.approval_requested')).toEqual({
      kind: 'withdrawal.approval_requested',
      title: 'Approval needed',
      default_roles: ['approver'],
    });
    // The same kinds, in the same order, as a person's preferences name.
    const mine = await ctx.http().get('/notifications/preferences/me').set('Authorization', `Bearer ${ctx.tokens.viewer}`);
    expect(kinds.map((k) => k.kind)).toEqual(Object.keys(mine.body.events));
  });

  it('needs a token', async () => {
    expect((await ctx.http().get('/notifications/kinds')).status).toBe(401);
  });

  it('is in the OpenAPI document', async () => {
    const doc = await ctx.http().get('/docs-json');
    expect(doc.status).toBe(200);
    expect(doc.body.paths['/notifications/kinds'].get.summary).toMatch(/kinds of notification/);
  });
});
