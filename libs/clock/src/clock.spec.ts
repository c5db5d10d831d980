import { describe, expect, it } from '@jest/globals';
import { ManualClock, OffsetClock, SystemClock } from './clock';

describe('Clock', () => {
  it('a manual clock stays where it is set and only moves forward', () => {
    const clock = new ManualClock('2026-03-08T06:59:30Z');
    expect(clock.now().toISOString()).toBe('2026-03-08T06:59:30.000Z');
    clock.advance(30_000);
    expect(clock.nowMs()).toBe(Date.parse('2026-03-08T07:00:00Z'));
    expect(() => clock.set('2026-03-08T06:00:00Z')).toThrow(RangeError);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => new ManualClock('not a date')).toThrow(RangeError);
  });

  it('an offset clock starts at the instant it is anchored to and flows with the system clock', () => {
    const system = new SystemClock();
    const clock = OffsetClock.startingAt('2030-01-01T00:00:00Z', system);
    const drift = clock.nowMs() - Date.parse('2030-01-01T00:00:00Z');
    expect(drift).toBeGreaterThanOrEqual(0);
    expect(drift).toBeLessThan(60_000);
  });
});
