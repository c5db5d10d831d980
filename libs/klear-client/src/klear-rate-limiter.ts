import { RATE_LIMIT_TIERS, type KlearEndpointKind, type RateLimitTier } from '@app/klear-contract';
import { type LimiterClock, systemClock, type TakeOptions, TokenBucket } from './token-bucket';

export interface KlearRateLimiterOptions {
  tier: RateLimitTier;
  /**
   * Share of the tier this process may use, in (0, 1]. Klear counts limits per member, not per
   * connection: when the API and the worker both call Klear, give each a share that sums to at most 1.
   */
  share?: number;
  /**
   * Fraction of the (shared) limit actually used, leaving room for network jitter bunching
   * requests at Klear's side. Default 0.95.
   */
  headroom?: number;
  clock?: LimiterClock;
}

/** The lateness a bucket makes up, as a share of its interval (below 1). */
const LATE_TOLERANCE_SHARE = 0.5;

/**
 * The client-side limit of one KlearClient: a read bucket and a write bucket, as Klear counts them.
 * Burst is one token: requests leave evenly spaced, so no one-second window at Klear ever holds
 * more than the limit, whatever window Klear uses. Each bucket tolerates half an interval of
 * lateness (LATE_TOLERANCE_SHARE): a timer that fires late, or a caller back a little after its
 * token was due, is made up by the next request instead of lost on every one, and two requests are
 * still never closer than half an interval (at the basic tier's 19 reads/s, 20 in a one-second window at most).
 */
export class KlearRateLimiter {
  private readonly buckets: Record<KlearEndpointKind, TokenBucket>;

  constructor(options: KlearRateLimiterOptions) {
    const share = options.share ?? 1;
    const headroom = options.headroom ?? 0.95;
    if (!(share > 0 && share <= 1)) throw new RangeError('rate share must be in (0, 1]');
    if (!(headroom > 0 && headroom <= 1)) throw new RangeError('rate headroom must be in (0, 1]');
    const limits = RATE_LIMIT_TIERS[options.tier];
    const clock = options.clock ?? systemClock;
    const bucket = (rate: number) => new TokenBucket(rate, 1, clock, { lateToleranceMs: (LATE_TOLERANCE_SHARE * 1000) / rate });
    this.buckets = {
      read: bucket(limits.read * share * headroom),
      write: bucket(limits.write * share * headroom),
    };
  }

  /** Resolves when one request of this kind may leave. */
  take(kind: KlearEndpointKind, options?: TakeOptions): Promise<void> {
    return this.buckets[kind].take(options);
  }

  /** Klear asked to wait (429 + Retry-After): hold every request of that kind until then. */
  pause(kind: KlearEndpointKind, untilMs: number): void {
    this.buckets[kind].pauseUntil(untilMs);
  }

  ratePerSecond(kind: KlearEndpointKind): number {
    return this.buckets[kind].ratePerSecond;
  }
}
