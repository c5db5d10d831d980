import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import type { Principal } from './principal';

/** At most this many tokens are remembered; the oldest entry makes room for a new one. */
export const VERIFIED_TOKEN_CACHE_MAX_ENTRIES = 10_000;

interface Entry {
  principal: Principal;
  /** Epoch ms (the injectable clock) from which the entry is no longer used. */
  expiresAtMs: number;
}

const copyOf = (p: Principal): Principal => ({ ...p, roles: [...p.roles] });

/**
 * The API's verified tokens (issue 18): a repeated request with the same bearer token is answered
 * without a statement. Keyed by the token's SHA-256, never the token. An entry lives at most
 * API_TOKEN_CACHE_SECONDS (and never past the token's own expiry); any change to `api_token` or
 * `app_user` empties the cache as soon as its NOTIFY arrives (AuthChangesRepository). The cache is
 * used only while that notification channel is live: without it, every request asks the database.
 *
 * A lookup that began before an invalidation must not store what it read (it may predate the
 * change): it takes the generation before asking the database and `remember` drops its result when
 * the generation moved meanwhile.
 */
@Injectable()
export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>();
  private gen = 0;
  private live = false;
  private readonly listeners = new Set<(reason: string) => void>();
  private readonly ttlMs: number;

  constructor(
    private readonly clock: Clock,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.ttlMs = config.auth.tokenCacheSeconds * 1000;
  }

  /** Configured on (API_TOKEN_CACHE_SECONDS > 0): the notification channel is worth opening. */
  get configured(): boolean {
    return this.ttlMs > 0;
  }

  /** Used now: configured and its invalidation channel is live. */
  get enabled(): boolean {
    return this.configured && this.live;
  }

  get generation(): number {
    return this.gen;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The principal verified for this token hash, a copy (callers cannot change the cache's), or undefined. */
  get(tokenHash: string): Principal | undefined {
    if (!this.enabled) return undefined;
    const entry = this.entries.get(tokenHash);
    if (!entry) return undefined;
    const now = this.clock.nowMs();
    // Expired, or the clock went back (an entry never lives longer than the TTL from now).
    if (now >= entry.expiresAtMs || entry.expiresAtMs - now > this.ttlMs) {
      this.entries.delete(tokenHash);
      return undefined;
    }
    return copyOf(entry.principal);
  }

  /**
   * Remembers a principal the database just verified, unless the cache was invalidated since
   * `generation` was read (the lookup may have seen the state before the change). Answers whether it was kept.
   */
  remember(tokenHash: string, principal: Principal, generation: number, tokenExpiresAt: Date): boolean {
    if (!this.enabled || generation !== this.gen) return false;
    const expiresAtMs = Math.min(this.clock.nowMs() + this.ttlMs, tokenExpiresAt.getTime());
    this.entries.delete(tokenHash);
    if (this.entries.size >= VERIFIED_TOKEN_CACHE_MAX_ENTRIES) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(tokenHash, { principal: copyOf(principal), expiresAtMs });
    return true;
  }

  /** Forgets everything and moves the generation, so that lookups in flight store nothing. */
  invalidate(reason: string): void {
    this.entries.clear();
    this.gen++;
    for (const listener of this.listeners) listener(reason);
  }

  /** The notification channel went live (true) or was lost (false); either way nothing remembered survives. */
  setLive(live: boolean, reason: string): void {
    this.live = live;
    this.invalidate(reason);
  }

  /** Calls `listener` with the reason of each invalidation (tests await a NOTIFY's effect with it, no sleeping); answers how to stop. */
  onInvalidation(listener: (reason: string) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
}
