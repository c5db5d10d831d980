import { describe, expect, it } from '@jest/globals';
import { Clock, ManualClock } from '@app/clock';
import { loadConfig } from '@app/config';
import type { Principal } from './principal';
import { VERIFIED_TOKEN_CACHE_MAX_ENTRIES, VerifiedTokenCache } from './verified-token-cache';

const FAR = new Date('2027-01-01T00:00:00Z');
const principal = (n: number): Principal => ({ userId: `u${n}`, name: `user ${n}`, roles: ['viewer'], tokenId: `t${n}` });

function liveCache(seconds = '10') {
  const clock = new ManualClock('2026-11-20T15:00:00Z');
  const cache = new VerifiedTokenCache(clock, loadConfig({ API_TOKEN_CACHE_SECONDS: seconds }));
  cache.setLive(true, 'listening');
  return { clock, cache };
}

describe('VerifiedTokenCache', () => {
  it('hands out copies: a caller changing the roles it got changes nothing cached', () => {
    const { cache } = liveCache();
    const given = principal(1);
    cache.remember('h1', given, cache.generation, FAR);
    given.roles.push('admin');
    const first = cache.get('h1')!;
    first.roles.push('admin');
    expect(cache.get('h1')!.roles).toEqual(['viewer']);
  });

  it('holds at most 10,000 tokens, the oldest making room', () => {
    const { cache } = liveCache();
    for (let i = 0; i <= VERIFIED_TOKEN_CACHE_MAX_ENTRIES; i++) cache.remember(`h${i}`, principal(i), cache.generation, FAR);
    expect(cache.size).toBe(VERIFIED_TOKEN_CACHE_MAX_ENTRIES);
    expect(cache.get('h0')).toBeUndefined();
    expect(cache.get('h1')?.userId).toBe('u1');
    expect(cache.get(`h${VERIFIED_TOKEN_CACHE_MAX_ENTRIES}`)?.userId).toBe(`u${VERIFIED_TOKEN_CACHE_MAX_ENTRIES}`);
  });

  it('forgets an entry at the TTL, or at the token expiry when that comes first', () => {
    const { clock, cache } = liveCache('10');
    cache.remember('long', principal(1), cache.generation, FAR);
    cache.remember('short', principal(2), cache.generation, new Date(clock.nowMs() + 3_000));
    clock.advance(2_999);
    expect([cache.get('long')?.userId, cache.get('short')?.userId]).toEqual(['u1', 'u2']);
    clock.advance(1);
    expect([cache.get('long')?.userId, cache.get('short')]).toEqual(['u1', undefined]);
    clock.advance(7_000);
    expect(cache.get('long')).toBeUndefined();
  });

  it('forgets an entry when the clock went back (it never lives longer than the TTL from now)', () => {
    class SettableClock extends Clock {
      ms = Date.parse('2026-11-20T15:00:00Z');
      now(): Date {
        return new Date(this.ms);
      }
    }
    const clock = new SettableClock();
    const cache = new VerifiedTokenCache(clock, loadConfig({}));
    cache.setLive(true, 'listening');
    cache.remember('h', principal(1), cache.generation, FAR);
    clock.ms -= 1;
    expect(cache.get('h')).toBeUndefined();
  });

  it('keeps nothing read before an invalidation, nothing while not live, nothing when configured off', () => {
    const { cache } = liveCache();
    const before = cache.generation;
    cache.invalidate('a change');
    expect(cache.remember('h', principal(1), before, FAR)).toBe(false);
    cache.setLive(false, 'listener lost');
    expect(cache.remember('h', principal(1), cache.generation, FAR)).toBe(false);
    const off = liveCache('0').cache;
    expect([off.configured, off.enabled, off.remember('h', principal(1), off.generation, FAR)]).toEqual([false, false, false]);
  });
});
