import { DateTime } from 'luxon';

export const ET_ZONE = 'America/New_York';
const DAY_MS = 86_400_000;

/**
 * When each settlement cycle happens. Cycle indexes start at 0 (the oldest cycle of history);
 * cycle `historyCycles - 1` is the last one at or before the simulator's start instant.
 */
export interface CycleSchedule {
  /** Nominal period, used for lags expressed in cycles. */
  readonly periodMs: number;
  timeOf(index: number): number;
  /** Index of the last cycle at or before `ms` (-1 when before cycle 0). */
  lastIndexAtOrBefore(ms: number): number;
}

export function etDate(ms: number): string {
  return DateTime.fromMillis(ms, { zone: ET_ZONE }).toISODate() as string;
}

/** End of the ET day holding `ms` (exclusive bound: the next ET midnight). */
export function etDayEndExclusive(ms: number): number {
  return DateTime.fromMillis(ms, { zone: ET_ZONE }).startOf('day').plus({ days: 1 }).toMillis();
}

export function etDayStart(date: string): number {
  return DateTime.fromISO(date, { zone: ET_ZONE }).startOf('day').toMillis();
}

export function parseEtTime(text: string): { hour: number; minute: number } {
  const match = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(text);
  if (match === null) throw new Error(`settlement time must be HH:MM (ET), got "${text}"`);
  return { hour: Number(match[1]), minute: Number(match[2]) };
}

/** One or more daily settlement times, `HH:MM` comma-separated (e.g. `12:00,17:00`), sorted and distinct. */
export function parseEtTimes(text: string): Array<{ hour: number; minute: number }> {
  const times = text.split(',').map((part) => parseEtTime(part.trim()));
  const minutes = times.map((t) => t.hour * 60 + t.minute);
  if (new Set(minutes).size !== minutes.length) throw new Error(`settlement times must be distinct, got "${text}"`);
  return times.sort((a, b) => a.hour * 60 + a.minute - (b.hour * 60 + b.minute));
}

/**
 * Cycles at the given ET times of every day (one or more per day). Index `historyCycles - 1` is the
 * last cycle at or before `startMs`; consecutive indexes walk the times of a day, then the next day.
 */
export function dailySchedule(startMs: number, historyCycles: number, settlementTimesEt: string): CycleSchedule {
  const times = parseEtTimes(settlementTimesEt);
  const perDay = times.length;
  const epoch = DateTime.fromMillis(startMs, { zone: ET_ZONE }).startOf('day');
  const settlementOn = (dayOffset: number, slot: number) =>
    epoch
      .plus({ days: dayOffset })
      .set({ ...times[slot], second: 0, millisecond: 0 })
      .toMillis();
  /** Absolute number (days from the start's ET day x times per day + slot) of the last cycle at or before `ms`. */
  const lastAbsolute = (ms: number): number => {
    const day = Math.round(DateTime.fromMillis(ms, { zone: ET_ZONE }).startOf('day').diff(epoch, 'days').days);
    for (let slot = perDay - 1; slot >= 0; slot--) if (settlementOn(day, slot) <= ms) return day * perDay + slot;
    return day * perDay - 1;
  };
  const first = lastAbsolute(startMs) - (historyCycles - 1);
  const cache = new Map<number, number>();
  return {
    periodMs: Math.floor(DAY_MS / perDay),
    timeOf(index) {
      let time = cache.get(index);
      if (time === undefined) {
        const absolute = first + index;
        const slot = ((absolute % perDay) + perDay) % perDay;
        time = settlementOn((absolute - slot) / perDay, slot);
        cache.set(index, time);
      }
      return time;
    },
    lastIndexAtOrBefore(ms) {
      return lastAbsolute(ms) - first;
    },
  };
}

export function secondsSchedule(startMs: number, historyCycles: number, cadenceSeconds: number): CycleSchedule {
  const periodMs = cadenceSeconds * 1000;
  const lastAtStart = Math.floor(startMs / periodMs) * periodMs;
  const time0 = lastAtStart - (historyCycles - 1) * periodMs;
  return {
    periodMs,
    timeOf: (index) => time0 + index * periodMs,
    lastIndexAtOrBefore: (ms) => Math.floor((ms - time0) / periodMs),
  };
}
