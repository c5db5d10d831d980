import { applyDecorators, type CanActivate, type ExecutionContext, Injectable, UseGuards } from '@nestjs/common';
import rateLimiterFlexible from 'rate-limiter-flexible';
import { TooManyRequests } from '@app/errors';

const { RateLimiterMemory, RateLimiterRes } = rateLimiterFlexible;

export interface RateLimitSettings {
  /** Hits allowed per window. */
  limit: number;
  windowSeconds: number;
  /** How long a key that went over the limit stays refused. */
  blockSeconds: number;
}

/**
 * One rate limit (rate-limiter-flexible's in-memory limiter: fixed windows, a block once over the
 * limit; the counters expire with their window, so a flood of keys does not stay in memory).
 * In-process: each API instance counts its own callers (docs/security.md, "Rate limits").
 */
export class RateLimit {
  private readonly limiter: InstanceType<typeof RateLimiterMemory>;

  constructor(
    name: string,
    private readonly settings: RateLimitSettings,
  ) {
    this.limiter = new RateLimiterMemory({
      keyPrefix: name,
      points: settings.limit,
      duration: settings.windowSeconds,
      blockDuration: settings.blockSeconds,
    });
  }

  /** Seconds the key stays refused (0 when it is not), without counting a hit. */
  async blockedForSeconds(key: string): Promise<number> {
    const state = await this.limiter.get(key);
    return state && state.consumedPoints > this.settings.limit ? retryAfterSeconds(state.msBeforeNext) : 0;
  }

  /** Counts one hit: 0 when allowed, else the seconds the key is refused for. */
  async hit(key: string): Promise<number> {
    try {
      await this.limiter.consume(key);
      return 0;
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes) return retryAfterSeconds(outcome.msBeforeNext);
      throw outcome;
    }
  }
}

const retryAfterSeconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** The API's rate limits (configured from API_AUTH_FAILURE_* and API_EXPENSIVE_ROUTE_*). */
export class ApiRateLimits {
  readonly authFailures: RateLimit;
  readonly expensiveRoutes: RateLimit;

  constructor(settings: { authFailures: RateLimitSettings; expensiveRoutes: RateLimitSettings }) {
    this.authFailures = new RateLimit('auth-failure', settings.authFailures);
    this.expensiveRoutes = new RateLimit('expensive', settings.expensiveRoutes);
    this.expensiveLimit = settings.expensiveRoutes;
  }

  readonly expensiveLimit: RateLimitSettings;
}

/**
 * Counts calls to an expensive route per user (per client address when no principal is known) and
 * answers 429 with Retry-After in the API's error shape. A route-level guard, so it runs after the
 * global authentication guard: the principal is known and unauthenticated calls never count.
 */
@Injectable()
export class ExpensiveRouteGuard implements CanActivate {
  constructor(private readonly limits: ApiRateLimits) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<{ ip?: string; principal?: { userId: string } }>();
    const who = req.principal ? `user:${req.principal.userId}` : `client:${req.ip ?? 'unknown'}`;
    const seconds = await this.limits.expensiveRoutes.hit(`${context.getClass().name}.${context.getHandler().name}:${who}`);
    if (seconds > 0) {
      const { limit, windowSeconds } = this.limits.expensiveLimit;
      throw new TooManyRequests(
        `this route is limited to ${limit} calls per ${windowSeconds} s per user; retry after ${seconds} s`,
        seconds,
      );
    }
    return true;
  }
}

/**
 * An expensive route (uploads and ledger batches, reconciliation runs, workbook builds, job runs,
 * the audit log with its chain verification): API_EXPENSIVE_ROUTE_LIMIT calls per
 * API_EXPENSIVE_ROUTE_WINDOW_SECONDS per user, then 429 until the window ends.
 */
export const Expensive = () => applyDecorators(UseGuards(ExpensiveRouteGuard));
