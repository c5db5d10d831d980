import { systemClock as productSystemClock } from '@app/clock';

/** Time source of the limiter, replaceable by a fake clock in tests. */
export interface LimiterClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: LimiterClock = {
  now: () => productSystemClock.nowMs(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.ceil(ms)))),
};

// Float refills (0.05 * 20) can land a hair under one whole token.
const EPSILON = 1e-9;

/** How long a caller accepts to wait for its token, and who wants to know that it waits. */
export interface TakeOptions {
  /** From the call to take(): a token not available by then is refused (RateLimitWaitExceeded), none consumed. */
  maxWaitMs?: number;
  /** Told before each sleep, with its length in ms. */
  onWait?: (waitMs: number) => void;
}

/** The token would come later than the caller accepted to wait: nothing was consumed. */
export class RateLimitWaitExceeded extends Error {
  constructor(
    readonly neededMs: number,
    readonly maxWaitMs: number,
  ) {
    super(`the rate limit asks to wait ${Math.ceil(neededMs)} ms, more than the ${maxWaitMs} ms accepted`);
    this.name = 'RateLimitWaitExceeded';
  }
}

/**
 * A token bucket: `ratePerSecond` tokens flow in, at most `burst` are held. Callers are served one
 * at a time in arrival order, so a queue of waiters never overtakes itself; a pause (after a 429)
 * holds everyone, including a waiter already asleep, until it ends.
 *
 * `lateToleranceMs` (below one interval, `1000 / ratePerSecond`) lets the bucket hold that much time's
 * worth of a token beyond `burst`. A waiter's timer always fires late (by a millisecond on an idle
 * machine, several under load), and a caller may come back a little after its token was due; with a
 * bucket capped at exactly `burst` that lateness is lost on every request, and a stream meant to run
 * at the rate runs at `1000 / (interval + lateness)`. With the tolerance the next request leaves that
 * much earlier, so the stream keeps its rate on average, while two requests are still never closer
 * than `interval - lateToleranceMs` apart: n + 1 requests span at least `n * interval - lateToleranceMs`,
 * so any window of one second holds at most as many as it does without the tolerance, plus one.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;
  private pausedUntil = 0;
  private queue: Promise<void> = Promise.resolve();
  /** The most tokens held: `burst`, plus the late tolerance's share of one. */
  private readonly capacity: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    private readonly clock: LimiterClock,
    options: { lateToleranceMs?: number } = {},
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError('ratePerSecond must be positive');
    if (!(burst >= 1)) throw new RangeError('burst must be at least 1');
    const tolerance = options.lateToleranceMs ?? 0;
    if (!(tolerance >= 0 && tolerance < 1000 / ratePerSecond))
      throw new RangeError('lateToleranceMs must be at least 0 and below one interval');
    this.capacity = burst + (tolerance * ratePerSecond) / 1000;
    this.tokens = burst;
    this.refilledAt = clock.now();
  }

  /** Resolves when the caller may send one request (rejects with RateLimitWaitExceeded past `maxWaitMs`). */
  take(options: TakeOptions = {}): Promise<void> {
    const deadline = options.maxWaitMs === undefined ? Number.POSITIVE_INFINITY : this.clock.now() + options.maxWaitMs;
    const turn = this.queue.then(() => this.waitForToken(deadline, options));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Holds every request until `untilMs` (the server asked us to wait). */
  pauseUntil(untilMs: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, untilMs);
  }

  private async waitForToken(deadline: number, options: TakeOptions): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      this.refill(now);
      let waitMs: number;
      if (now < this.pausedUntil) waitMs = this.pausedUntil - now;
      else if (this.tokens >= 1 - EPSILON) {
        this.tokens = Math.max(0, this.tokens - 1);
        return;
      } else waitMs = ((1 - this.tokens) / this.ratePerSecond) * 1000;
      if (now + waitMs > deadline)
        throw new RateLimitWaitExceeded(now + waitMs - (deadline - (options.maxWaitMs ?? 0)), options.maxWaitMs ?? 0);
      options.onWait?.(waitMs);
      await this.clock.sleep(waitMs);
    }
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.refilledAt);
    this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.ratePerSecond) / 1000);
    this.refilledAt = now;
  }
}
