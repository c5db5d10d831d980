import { applyDecorators, Injectable, UseGuards } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail, type ThrottlerStorage } from '@nestjs/throttler';
import type { ExecutionContext } from '@nestjs/common';
import { TooManyRequests } from './domain-error';

/** What @nestjs/throttler expects back from a storage (its record type is not exported). */
export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

interface Counter {
  hits: number;
  windowEndsAt: number;
  blockedUntil: number;
}

/** Keys kept at most; past it, expired counters are dropped, then the oldest (a flood of addresses cannot grow memory). */
const MAX_KEYS = 100_000;

/**
 * Fixed-window counters with a block, read on the injectable clock (so tests move time instead of
 * waiting), for @nestjs/throttler and for the failed-authentication limiter. In-process: each API
 * instance counts its own callers (docs/security.md, "Rate limits").
 */
export class ClockThrottlerStorage implements ThrottlerStorage {
  private readonly counters = new Map<string, Counter>();

  constructor(private readonly nowMs: () => number) {}

  async increment(key: string, ttl: number, limit: number, blockDuration: number): Promise<ThrottlerStorageRecord> {
    return this.hit(key, ttl, limit, blockDuration);
  }

  /** Counts one hit; over `limit` within `ttlMs`, the key is blocked for `blockMs`. */
  hit(key: string, ttlMs: number, limit: number, blockMs: number): ThrottlerStorageRecord {
    const now = this.nowMs();
    let counter = this.counters.get(key);
    if (counter && counter.blockedUntil > now) return this.record(counter, now);
    if (!counter || counter.windowEndsAt <= now) {
      if (this.counters.size >= MAX_KEYS) this.makeRoom(now);
      counter = { hits: 0, windowEndsAt: now + ttlMs, blockedUntil: 0 };
      this.counters.delete(key);
      this.counters.set(key, counter);
    }
    counter.hits += 1;
    if (counter.hits > limit) counter.blockedUntil = now + blockMs;
    return this.record(counter, now);
  }

  /** Seconds the key stays blocked (0 when it is not), without counting a hit. */
  blockedForSeconds(key: string): number {
    const counter = this.counters.get(key);
    const now = this.nowMs();
    return counter && counter.blockedUntil > now ? Math.ceil((counter.blockedUntil - now) / 1000) : 0;
  }

  private record(counter: Counter, now: number): ThrottlerStorageRecord {
    const isBlocked = counter.blockedUntil > now;
    return {
      totalHits: counter.hits,
      timeToExpire: Math.max(0, Math.ceil((counter.windowEndsAt - now) / 1000)),
      isBlocked,
      timeToBlockExpire: isBlocked ? Math.ceil((counter.blockedUntil - now) / 1000) : 0,
    };
  }

  private makeRoom(now: number): void {
    for (const [key, c] of this.counters) if (c.windowEndsAt <= now && c.blockedUntil <= now) this.counters.delete(key);
    for (const key of this.counters.keys()) {
      if (this.counters.size < MAX_KEYS) break;
      this.counters.delete(key);
    }
  }
}

/** The name of the throttler that limits expensive routes (configured in the API module). */
export const EXPENSIVE_THROTTLER = 'expensive';

/**
 * Counts calls per user (per client address when no principal is known), and answers 429 with
 * Retry-After in the API's error shape. Runs after the authentication guard (route-level guards
 * run after global ones), so the principal is known.
 */
@Injectable()
export class ExpensiveRouteGuard extends ThrottlerGuard {
  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const principal = req.principal as { userId?: string } | undefined;
    return principal?.userId ? `user:${principal.userId}` : `client:${String(req.ip)}`;
  }

  protected override async throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw new TooManyRequests(
      `this route is limited to ${detail.limit} calls per ${Math.round(detail.ttl / 1000)} s per user; retry after ${detail.timeToBlockExpire} s`,
      detail.timeToBlockExpire,
    );
  }
}

/**
 * An expensive route (big uploads, reconciliation runs, workbook builds, job runs, chain
 * verification): limited per user by API_EXPENSIVE_ROUTE_LIMIT per API_EXPENSIVE_ROUTE_WINDOW_SECONDS.
 */
export const Expensive = () => applyDecorators(UseGuards(ExpensiveRouteGuard));
