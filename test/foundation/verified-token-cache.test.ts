import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { AuthChangesRepository, VerifiedTokenCache } from '@app/auth';
import { ManualClock } from '@app/clock';
import { ApiTokenRepository } from '../../libs/auth/src/api-token.repository';
import { type ApiWorld, startApiWorld, testConfig } from '../support/api-world';
import { countStatements, type StatementCounter } from '../support/statement-counter';
import { startTestPooler } from '../support/transaction-pooler';

/** The token lookup (ApiTokenRepository.findValid): the one statement the cache saves. */
const LOOKUP = /FROM api_token t JOIN app_user u/;

/** Every invalidation's reason, from now on; `until` resolves once one matches (a NOTIFY arrived and was applied). */
function invalidations(cache: VerifiedTokenCache) {
  const seen: string[] = [];
  const waiting: Array<{ match: (r: string) => boolean; resolve: () => void }> = [];
  const stop = cache.onInvalidation((reason) => {
    seen.push(reason);
    for (const w of waiting.filter((w) => w.match(reason))) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve();
    }
  });
  return {
    stop,
    until: (match: (r: string) => boolean) =>
      seen.some(match) ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ match, resolve })),
  };
}

// Issue 18 (docs/security.md, "Verified-token cache"): a repeated request with the same token asks the
// database nothing; a revocation, a disabling or a role change committed anywhere is seen by the next
// request once its NOTIFY arrived; without the LISTEN connection there is no cache at all.
describe('verified-token cache', () => {
  const clock = new ManualClock('2026-11-20T15:00:00Z');
  let ctx: ApiWorld;
  let cache: VerifiedTokenCache;
  let changes: AuthChangesRepository;
  let counter: StatementCounter;
  let seen: ReturnType<typeof invalidations>;

  beforeAll(async () => {
    ctx = await startApiWorld({ API_TOKEN_CACHE_SECONDS: '10' }, { clock });
    cache = ctx.app.get(VerifiedTokenCache);
    changes = ctx.app.get(AuthChangesRepository);
    await changes.whenListening();
    counter = countStatements(ctx.app);
    seen = invalidations(cache);
  });
  afterAll(async () => {
    seen.stop();
    await ctx.close();
  });

  const status = async (token: string, path = '/reconciliations') =>
    (await ctx.http().get(path).set('authorization', `Bearer ${token}`)).status;
  const lookupsOf = async (token: string, path?: string) => {
    counter.reset();
    const answered = await status(token, path);
    return { status: answered, lookups: counter.count(LOOKUP) };
  };

  /** Runs `sql` in a transaction of another connection; resolves once this API applied its NOTIFY. */
  const changeElsewhere = async (sql: string, params: unknown[], replica = false): Promise<void> => {
    const runner = ctx.db.dataSource.createQueryRunner();
    try {
      await runner.startTransaction();
      if (replica) await runner.query(`SET LOCAL session_replication_role = replica`);
      await runner.query(sql, params);
      const [{ txid }] = (await runner.query(`SELECT txid_current()::text AS txid`)) as Array<{ txid: string }>;
      await runner.commitTransaction();
      if (!replica) await seen.until((r) => r.endsWith(` in transaction ${txid}`));
    } finally {
      await runner.release();
    }
  };

  it('answers a repeated request with the same token without any statement about the token', async () => {
    const user = await ctx.newUser('cache-repeat', ['viewer']);
    expect(await lookupsOf(user.token)).toEqual({ status: 200, lookups: 1 });
    for (let i = 0; i < 3; i++) expect(await lookupsOf(user.token)).toEqual({ status: 200, lookups: 0 });
    // Nothing about tokens or users at all: the last-used stamp went out with the first request only.
    expect(counter.count(/api_token|app_user/)).toBe(0);
    // Keyed by the token's hash, never the token.
    expect(JSON.stringify([...(cache as unknown as { entries: Map<string, unknown> }).entries.keys()])).not.toContain(user.token);
  });

  it('refuses a token revoked by another connection on the next request after the notification', async () => {
    const user = await ctx.newUser('cache-revoke', ['viewer']);
    expect(await lookupsOf(user.token)).toEqual({ status: 200, lookups: 1 });
    expect(await lookupsOf(user.token)).toEqual({ status: 200, lookups: 0 });
    await changeElsewhere(`UPDATE api_token SET revoked_at = now() WHERE user_id = $1`, [user.id]);
    expect(await lookupsOf(user.token)).toEqual({ status: 401, lookups: 1 });
  });

  it('applies a role removal and a disabling on the next request after the notification', async () => {
    const admin = await ctx.newUser('cache-roles', ['admin']);
    expect(await status(admin.token, '/users')).toBe(200);
    expect(await lookupsOf(admin.token, '/users')).toEqual({ status: 200, lookups: 0 });
    await changeElsewhere(`UPDATE app_user SET roles = '{viewer}' WHERE id = $1`, [admin.id]);
    expect(await lookupsOf(admin.token, '/users')).toEqual({ status: 403, lookups: 1 });
    expect(await lookupsOf(admin.token)).toEqual({ status: 200, lookups: 0 });
    await changeElsewhere(`UPDATE app_user SET disabled_at = now() WHERE id = $1`, [admin.id]);
    expect(await lookupsOf(admin.token)).toEqual({ status: 401, lookups: 1 });
  });

  it('does not flush the cache for the once-a-minute last-used stamp', async () => {
    const user = await ctx.newUser('cache-last-used', ['viewer']);
    expect(await status(user.token)).toBe(200);
    const before = cache.generation;
    // The stamp itself, committed in another transaction, notifies nobody; a real change does.
    await ctx.db.dataSource.query(`UPDATE api_token SET last_used_at = now() WHERE user_id = $1`, [user.id]);
    await changeElsewhere(`UPDATE api_token SET label = 'renamed' WHERE user_id = $1`, [user.id]);
    expect(cache.generation).toBe(before + 1);
  });

  it('does not keep what a lookup read when a change was notified while it ran', async () => {
    const user = await ctx.newUser('cache-race', ['viewer']);
    const repository = ctx.app.get(ApiTokenRepository, { strict: false });
    const findValid = repository.findValid.bind(repository);
    const spy = jest.spyOn(repository, 'findValid').mockImplementationOnce(async (hash, now) => {
      const row = await findValid(hash, now);
      // The revocation commits (and is notified) after the lookup read the token as valid.
      await changeElsewhere(`UPDATE api_token SET revoked_at = now() WHERE user_id = $1`, [user.id]);
      return row;
    });
    try {
      expect(await status(user.token)).toBe(200);
    } finally {
      spy.mockRestore();
    }
    expect(await lookupsOf(user.token)).toEqual({ status: 401, lookups: 1 });
  });

  it('forgets a token after API_TOKEN_CACHE_SECONDS, the only bound on a change that bypassed the triggers', async () => {
    const user = await ctx.newUser('cache-ttl', ['viewer']);
    expect(await lookupsOf(user.token)).toEqual({ status: 200, lookups: 1 });
    // A superuser with session_replication_role = replica fires no trigger: no NOTIFY.
    await changeElsewhere(`UPDATE api_token SET revoked_at = now() WHERE user_id = $1`, [user.id], true);
    clock.advance(9_999);
    expect(await lookupsOf(user.token)).toEqual({ status: 200, lookups: 0 });
    clock.advance(1);
    expect(await lookupsOf(user.token)).toEqual({ status: 401, lookups: 1 });
  });

  it('switches the cache off while the LISTEN connection is lost, and on again once it is back', async () => {
    const user = await ctx.newUser('cache-listener', ['viewer']);
    expect(await status(user.token)).toBe(200);
    const lost = seen.until((r) => r.startsWith('listener lost'));
    await ctx.db.dataSource.query(`SELECT pg_terminate_backend($1)`, [changes.pid]);
    await lost;
    expect(cache.enabled).toBe(false);
    expect(cache.size).toBe(0);
    // Every request asks the database, and sees a change at once (no NOTIFY needed).
    expect(await lookupsOf(user.token)).toEqual({ status: 200, lookups: 1 });
    expect(await lookupsOf(user.token)).toEqual({ status: 200, lookups: 1 });
    const other = await ctx.newUser('cache-listener-2', ['viewer']);
    expect(await status(other.token)).toBe(200);
    await ctx.db.dataSource.query(`UPDATE api_token SET revoked_at = now() WHERE user_id = $1`, [other.id]);
    expect(await status(other.token)).toBe(401);
    await changes.whenListening();
    expect(cache.enabled).toBe(true);
    expect(await lookupsOf(user.token)).toEqual({ status: 200, lookups: 1 });
    expect(await lookupsOf(user.token)).toEqual({ status: 200, lookups: 0 });
  });

  it('stays off behind a transaction-mode pooler, where no notification would ever arrive; goes live on a direct connection', async () => {
    const liveThrough = async (url: string) => {
      const config = testConfig({ DATABASE_URL: url, API_TOKEN_CACHE_SECONDS: '10' });
      const own = new VerifiedTokenCache(clock, config);
      const listener = new AuthChangesRepository(own, config, ctx.db.dataSource);
      try {
        await listener.onApplicationBootstrap();
        return own.enabled;
      } finally {
        await listener.onModuleDestroy();
      }
    };
    // (The test pooler relays only query answers, so it cannot stand for a session-mode pooler here.)
    const pooler = await startTestPooler(ctx.db.url, { backends: 2 });
    try {
      expect(await liveThrough(pooler.url)).toBe(false);
    } finally {
      await pooler.close();
    }
    expect(await liveThrough(ctx.db.url)).toBe(true);
  });
});

describe('verified-token cache off (API_TOKEN_CACHE_SECONDS=0)', () => {
  let ctx: ApiWorld;
  beforeAll(async () => {
    ctx = await startApiWorld({ API_TOKEN_CACHE_SECONDS: '0' });
  });
  afterAll(() => ctx.close());

  it('looks every token up and opens no LISTEN connection', async () => {
    const counter = countStatements(ctx.app);
    for (let i = 0; i < 3; i++) {
      counter.reset();
      expect((await ctx.http().get('/reconciliations').set('authorization', `Bearer ${ctx.tokens.viewer}`)).status).toBe(200);
      expect(counter.count(LOOKUP)).toBe(1);
    }
    expect(ctx.app.get(AuthChangesRepository).pid).toBeNull();
    expect(ctx.app.get(VerifiedTokenCache).enabled).toBe(false);
  });
});
