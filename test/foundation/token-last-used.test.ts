import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '@app/clock';
import { type ApiWorld, startApiWorld } from '../support/api-world';

// A token's last_used_at is kept to the minute (docs/security.md): one write per token per minute
// however many requests it makes, and none at all from this process within the minute (a hot read
// route pays no statement for it).
describe('API token last use', () => {
  const clock = new ManualClock('2026-11-20T15:00:00Z');
  let ctx: ApiWorld;
  beforeAll(async () => {
    ctx = await startApiWorld({}, { clock });
  });
  afterAll(() => ctx.close());

  const lastUsed = async (): Promise<string | null> => {
    const rows = (await ctx.db.dataSource.query(
      `SELECT to_char(t.last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') AS at FROM api_token t JOIN app_user u ON u.id = t.user_id WHERE u.id = $1`,
      [ctx.userIds.viewer],
    )) as Array<{ at: string | null }>;
    return rows[0].at;
  };
  const use = async (times: number) => {
    for (let i = 0; i < times; i++)
      expect((await ctx.http().get('/reconciliations').set('authorization', `Bearer ${ctx.tokens.viewer}`)).status).toBe(200);
    // The write is not awaited by the request: give it a moment to land.
    await new Promise((resolve) => setTimeout(resolve, 200));
  };

  it('records the first use, keeps it through the minute, and moves it once the minute is over', async () => {
    await use(3);
    expect(await lastUsed()).toBe('2026-11-20T15:00:00');
    clock.advance(59_000);
    await use(3);
    expect(await lastUsed()).toBe('2026-11-20T15:00:00');
    clock.advance(2_000);
    await use(2);
    expect(await lastUsed()).toBe('2026-11-20T15:01:01');
  });
});
