import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuthChangesRepository } from '@app/auth';
import { ManualClock } from '@app/clock';
import { type ApiWorld, startApiWorld } from '../support/api-world';
import { countStatements } from '../support/statement-counter';

// Issue 18's bench target (each read route's p99 within 3x GET /health/live's) is met by cutting round
// trips: once a token is verified and cached (docs/security.md, "Verified-token cache"), an
// authenticated read costs only the route's own statements.
describe('read route round trips', () => {
  const clock = new ManualClock('2026-11-20T15:00:00Z');
  let ctx: ApiWorld;
  beforeAll(async () => {
    ctx = await startApiWorld({}, { clock });
    await ctx.app.get(AuthChangesRepository).whenListening();
  });
  afterAll(() => ctx.close());

  it('answers an authenticated GET /settlement/balance after a warm-up with its one own statement', async () => {
    const counter = countStatements(ctx.app);
    const read = () => ctx.http().get('/settlement/balance').set('authorization', `Bearer ${ctx.tokens.viewer}`);
    expect((await read()).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      counter.reset();
      expect((await read()).status).toBe(200);
      expect(counter.statements).toEqual([
        expect.stringMatching(/^SELECT .* FROM klear_balance_snapshot ORDER BY pulled_at DESC, id DESC LIMIT 1$/),
      ]);
    }
  });
});
