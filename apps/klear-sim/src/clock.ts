import { systemClock } from '@app/clock';

/**
 * The simulated clock. With a fixed --start-at in daily cadence it stands still until the admin path
 * moves it (tests replay exactly); started at "now", or in seconds cadence, it also follows real time
 * (the demo shows today; cycles settle as the wall clock passes them).
 */
export class SimClock {
  private advancedMs = 0;
  private readonly realStart = systemClock.nowMs();

  constructor(
    private readonly startMs: number,
    private readonly followsRealTime: boolean,
  ) {}

  now(): number {
    return this.startMs + this.advancedMs + (this.followsRealTime ? systemClock.nowMs() - this.realStart : 0);
  }

  advanceBy(ms: number): void {
    if (!(ms >= 0)) throw new RangeError('the simulated clock only moves forward');
    this.advancedMs += ms;
  }

  advanceTo(targetMs: number): void {
    this.advanceBy(Math.max(0, targetMs - this.now()));
  }
}

/** RFC 3339 in UTC; milliseconds only when not zero. */
export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}
