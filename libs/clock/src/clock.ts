/**
 * The one source of the current time in the product (design.md, "Money and time"). Every reading of
 * "now" that decides something (jobs, lookback windows, expiry, grace periods, freshness, the time a
 * row records) goes through a Clock, so that a test can choose the instant on both sides (product and
 * simulator) and nothing depends on the day or the machine the code runs on.
 *
 * Durations measured for logs and benchmarks (how long a job took) use `performance.now()`, which is
 * monotonic and says nothing about the date: they are not clock readings.
 */
export abstract class Clock {
  /** The current instant. */
  abstract now(): Date;

  /** The current instant in epoch milliseconds. */
  nowMs(): number {
    return this.now().getTime();
  }
}

/** Production: the machine's clock. The only place in apps/ and libs/ allowed to read it. */
export class SystemClock extends Clock {
  now(): Date {
    return new Date(Date.now());
  }

  override nowMs(): number {
    return Date.now();
  }
}

export const systemClock: Clock = new SystemClock();

function toMs(at: Date | number | string): number {
  const ms = at instanceof Date ? at.getTime() : typeof at === 'number' ? at : Date.parse(at);
  if (!Number.isFinite(ms)) throw new RangeError(`not an instant: ${String(at)}`);
  return ms;
}

/**
 * A clock that moves only when told to: tests that need a fixed instant set it here (and on the
 * simulator's admin clock), so the outcome is the same on any day and at any machine speed.
 */
export class ManualClock extends Clock {
  private ms: number;

  constructor(start: Date | number | string) {
    super();
    this.ms = toMs(start);
  }

  now(): Date {
    return new Date(this.ms);
  }

  override nowMs(): number {
    return this.ms;
  }

  /** Moves to an instant; a clock never goes back. */
  set(at: Date | number | string): void {
    const target = toMs(at);
    if (target < this.ms) throw new RangeError('a clock never goes back');
    this.ms = target;
  }

  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError('a clock only moves forward');
    this.ms += ms;
  }
}

/**
 * The machine's clock shifted by a fixed offset: a test that anchors a world at a fixed instant but
 * still wants time to flow (a worker's schedules) uses this on the product side.
 */
export class OffsetClock extends Clock {
  constructor(private readonly offsetMs: number) {
    super();
  }

  static startingAt(at: Date | number | string, base: Clock = systemClock): OffsetClock {
    return new OffsetClock(toMs(at) - base.nowMs());
  }

  now(): Date {
    return new Date(systemClock.nowMs() + this.offsetMs);
  }
}
