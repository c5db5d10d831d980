import { describe, expect, it } from '@jest/globals';
import { FakeClock } from './fake-clock.spec-helper';
import { KlearRateLimiter } from './klear-rate-limiter';
import { RateLimitWaitExceeded, TokenBucket } from './token-bucket';

async function releaseTimes(clock: FakeClock, takes: Array<Promise<void>>, advanceMs: number): Promise<number[]> {
  const times: number[] = new Array(takes.length).fill(-1);
  takes.forEach((take, index) => void take.then(() => (times[index] = clock.now())));
  await clock.advance(advanceMs);
  return times;
}

/** A fake clock whose timers fire `lateMs` late, as a loaded machine's do. */
class LateClock extends FakeClock {
  constructor(private readonly lateMs: number) {
    super();
  }

  override sleep(ms: number): Promise<void> {
    return super.sleep(ms + this.lateMs);
  }
}

/** Takes from `take` as fast as it lets through for `ms` of fake time, answering the release times; `busyMs(i)` is the work done after the i-th take. */
async function drive(clock: FakeClock, take: () => Promise<void>, ms: number, busyMs: (i: number) => number = () => 0): Promise<number[]> {
  const sent: number[] = [];
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      await take();
      sent.push(clock.now());
      const busy = busyMs(sent.length - 1);
      if (busy > 0) await clock.sleep(busy);
    }
  })();
  await clock.advance(ms);
  stop = true;
  await clock.advance(1000);
  await loop;
  return sent.filter((t) => t < ms);
}

const maxInOneSecond = (sent: number[]) => Math.max(...sent.map((start) => sent.filter((t) => t >= start && t < start + 1000).length));

describe('TokenBucket', () => {
  it('spaces queued requests evenly at the configured rate, in arrival order', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(20, 1, clock);
    const takes = Array.from({ length: 6 }, () => bucket.take());
    expect(await releaseTimes(clock, takes, 1000)).toEqual([0, 50, 100, 150, 200, 250]);
  });

  it('lets a burst of up to its capacity through after an idle period, then refills at the rate', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(10, 3, clock);
    await clock.advance(5000);
    const takes = Array.from({ length: 5 }, () => bucket.take());
    expect(await releaseTimes(clock, takes, 1000)).toEqual([5000, 5000, 5000, 5100, 5200]);
  });

  it('holds every request, including one already waiting, until a pause ends', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(10, 1, clock);
    const first = bucket.take();
    const second = bucket.take();
    const times = releaseTimes(clock, [first, second], 0);
    expect(await times).toEqual([0, -1]);
    bucket.pauseUntil(2000);
    const later = releaseTimes(clock, [second, bucket.take()], 5000);
    expect(await later).toEqual([2000, 2100]);
  });
});

describe('TokenBucket late tolerance', () => {
  it('makes up timers that fire late instead of losing the lateness on every request', async () => {
    // 19 a second, timers 5 ms late: without the tolerance every interval is 57.6 ms (17.4 a second).
    const strict = new LateClock(5);
    const bucketStrict = new TokenBucket(19, 1, strict);
    const lost = await drive(strict, () => bucketStrict.take(), 10_000);
    expect(lost.length).toBeLessThan(180);
    const tolerant = new LateClock(5);
    const bucket = new TokenBucket(19, 1, tolerant, { lateToleranceMs: 1000 / 19 / 2 });
    const kept = await drive(tolerant, () => bucket.take(), 10_000);
    expect(kept.length).toBeGreaterThanOrEqual(189);
    expect(maxInOneSecond(kept)).toBeLessThanOrEqual(20);
  });

  it('makes up a caller that comes back late after a slow page, within the tolerance, never two requests closer than interval - tolerance', async () => {
    const clock = new FakeClock();
    const interval = 1000 / 19;
    const bucket = new TokenBucket(19, 1, clock, { lateToleranceMs: interval / 2 });
    // Pages alternately slow (70 ms, past the interval) and fast (20 ms): 45 ms on average, below the interval.
    const sent = await drive(
      clock,
      () => bucket.take(),
      10_000,
      (i) => (i % 2 === 0 ? 70 : 20),
    );
    expect(sent.length).toBeGreaterThanOrEqual(189);
    expect(maxInOneSecond(sent)).toBeLessThanOrEqual(20);
    const gaps = sent.slice(1).map((t, i) => t - sent[i]);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(interval / 2 - 1e-6);
  });

  it('refuses a tolerance of a whole interval or more (that would be a burst of two)', () => {
    expect(() => new TokenBucket(20, 1, new FakeClock(), { lateToleranceMs: 50 })).toThrow(RangeError);
    expect(() => new TokenBucket(20, 1, new FakeClock(), { lateToleranceMs: -1 })).toThrow(RangeError);
  });
});

describe('KlearRateLimiter', () => {
  it('keeps over 94% of the basic tier read limit when every timer fires 5 ms late, never more than the limit in a second', async () => {
    const clock = new LateClock(5);
    const limiter = new KlearRateLimiter({ tier: 'basic', clock });
    const sent = await drive(clock, () => limiter.take('read'), 10_000);
    expect(sent.length).toBeGreaterThanOrEqual(0.94 * 20 * 10);
    expect(maxInOneSecond(sent)).toBeLessThanOrEqual(20);
  });

  it('never lets more than the basic tier read limit into any one-second window, yet uses over 90% of it', async () => {
    const clock = new FakeClock();
    const limiter = new KlearRateLimiter({ tier: 'basic', clock });
    const sent: number[] = [];
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        await limiter.take('read');
        sent.push(clock.now());
      }
    })();
    await clock.advance(10_000);
    stop = true;
    await clock.advance(1000);
    await loop;
    const within10s = sent.filter((t) => t < 10_000);
    expect(within10s.length).toBeGreaterThanOrEqual(0.9 * 20 * 10);
    for (const start of sent) expect(sent.filter((t) => t >= start && t < start + 1000).length).toBeLessThanOrEqual(20);
  });

  it('counts reads and writes in separate buckets with the tier limits', async () => {
    const clock = new FakeClock();
    const limiter = new KlearRateLimiter({ tier: 'basic', headroom: 1, clock });
    expect(limiter.ratePerSecond('read')).toBe(20);
    expect(limiter.ratePerSecond('write')).toBe(10);
    const reads = Array.from({ length: 4 }, () => limiter.take('read'));
    const write = limiter.take('write');
    expect(await releaseTimes(clock, [...reads, write], 1000)).toEqual([0, 50, 100, 150, 0]);
  });

  it('gives a process only its configured share of the member limit', () => {
    const limiter = new KlearRateLimiter({ tier: 'prime', share: 0.25, headroom: 1 });
    expect(limiter.ratePerSecond('read')).toBe(100);
    expect(() => new KlearRateLimiter({ tier: 'basic', share: 0 })).toThrow(RangeError);
  });

  it('refuses at once, consuming nothing, a take whose wait would pass the accepted maximum; tells a waiter before it sleeps', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(10, 1, clock);
    bucket.pauseUntil(8000);
    await expect(bucket.take({ maxWaitMs: 5000 })).rejects.toBeInstanceOf(RateLimitWaitExceeded);
    const waits: number[] = [];
    const accepted = bucket.take({ maxWaitMs: 9000, onWait: (ms) => waits.push(ms) });
    expect(await releaseTimes(clock, [accepted], 8000)).toEqual([8000]);
    expect(waits).toEqual([8000]);
    // The refused take left its token: the next one goes 100 ms after the accepted one, not 200.
    expect(await releaseTimes(clock, [bucket.take()], 1000)).toEqual([8100]);
  });
});
