import { describe, expect, it } from '@jest/globals';
import { dailySchedule, etDate, secondsSchedule } from './schedule';

describe('settlement cycle schedule', () => {
  it('puts daily cycles at the ET settlement time, the last one at or before the start', () => {
    const start = Date.parse('2026-11-20T21:00:00Z'); // 16:00 ET, before the 17:00 cycle
    const schedule = dailySchedule(start, 30, '17:00');
    expect(new Date(schedule.timeOf(29)).toISOString()).toBe('2026-11-19T22:00:00.000Z');
    expect(new Date(schedule.timeOf(0)).toISOString()).toBe('2026-10-21T21:00:00.000Z'); // EDT before Nov 1
    expect(schedule.lastIndexAtOrBefore(start)).toBe(29);
    expect(schedule.lastIndexAtOrBefore(Date.parse('2026-11-20T22:00:00Z'))).toBe(30);
    expect(schedule.lastIndexAtOrBefore(Date.parse('2026-11-20T21:59:59Z'))).toBe(29);
  });

  it('keeps 17:00 ET across the daylight-saving change and maps every cycle back to its index', () => {
    const schedule = dailySchedule(Date.parse('2026-11-20T21:00:00Z'), 30, '17:00');
    for (let i = 0; i < 40; i++) {
      const time = schedule.timeOf(i);
      expect(schedule.lastIndexAtOrBefore(time)).toBe(i);
      expect(schedule.lastIndexAtOrBefore(time - 1)).toBe(i - 1);
      expect(new Date(time).toLocaleTimeString('en-US', { timeZone: 'America/New_York', hour12: false })).toBe('17:00:00');
    }
    expect(etDate(schedule.timeOf(29))).toBe('2026-11-19');
  });

  it('puts several cycles on one ET day when given several settlement times, in order', () => {
    const start = Date.parse('2026-11-20T21:00:00Z'); // 16:00 ET: after the 12:00 cycle, before the 17:00 one
    const schedule = dailySchedule(start, 4, '17:00,12:00');
    expect([0, 1, 2, 3, 4].map((i) => new Date(schedule.timeOf(i)).toISOString())).toEqual([
      '2026-11-18T22:00:00.000Z',
      '2026-11-19T17:00:00.000Z',
      '2026-11-19T22:00:00.000Z',
      '2026-11-20T17:00:00.000Z',
      '2026-11-20T22:00:00.000Z',
    ]);
    expect(schedule.lastIndexAtOrBefore(start)).toBe(3);
    for (let i = -3; i < 10; i++) {
      expect(schedule.lastIndexAtOrBefore(schedule.timeOf(i))).toBe(i);
      expect(schedule.lastIndexAtOrBefore(schedule.timeOf(i) - 1)).toBe(i - 1);
    }
  });

  it('spaces seconds-cadence cycles evenly', () => {
    const schedule = secondsSchedule(Date.parse('2026-11-20T21:00:05Z'), 10, 30);
    expect(new Date(schedule.timeOf(9)).toISOString()).toBe('2026-11-20T21:00:00.000Z');
    expect(schedule.timeOf(10) - schedule.timeOf(9)).toBe(30_000);
    expect(schedule.lastIndexAtOrBefore(schedule.timeOf(3) + 29_999)).toBe(3);
  });
});
