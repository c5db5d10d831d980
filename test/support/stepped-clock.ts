import { Clock, systemClock } from '@app/clock';
import type { LimiterClock } from '@app/klear-client';

/**
 * A clock that flows with the machine's and that a test moves forward at once (`jump`): a long wait
 * (a Retry-After, a stalled process, a grace period) without waiting for it. It is the product's Clock
 * and, through `limiter`, the Klear client's rate-limiter clock, so both see the same jump; sleepers of
 * the limiter wake on a jump and check again.
 */
export class SteppedClock extends Clock {
  private offsetMs = 0;
  private wakers: Array<() => void> = [];

  now(): Date {
    return new Date(systemClock.nowMs() + this.offsetMs);
  }

  jump(ms: number): void {
    if (!(ms >= 0)) throw new RangeError('a clock only moves forward');
    this.offsetMs += ms;
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }

  readonly limiter: LimiterClock = {
    now: () => this.nowMs(),
    sleep: async (ms: number) => {
      const target = this.nowMs() + ms;
      while (this.nowMs() < target) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(1, Math.min(target - this.nowMs(), 1000)));
          this.wakers.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
  };
}
