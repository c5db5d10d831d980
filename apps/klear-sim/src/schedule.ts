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

export function dailySchedule(startMs: number, historyCycles: number, settlementTimeEt: string): CycleSchedule {
  const { hour, minute } = parseEtTime(settlementTimeEt);
  const settlementOnDay = (day: DateTime) => day.set({ hour, minute, second: 0, millisecond: 0 });
  const lastSettlementDay = (ms: number): DateTime => {
    const now = DateTime.fromMillis(ms, { zone: ET_ZONE });
    const today = now.startOf('day');
    return settlementOnDay(today).toMillis() <= ms ? today : today.minus({ days: 1 });
  };
  const day0 = lastSettlementDay(startMs).minus({ days: historyCycles - 1 });
  const cache = new Map<number, number>();
  return {
    periodMs: DAY_MS,
    timeOf(index) {
      let time = cache.get(index);
      if (time === undefined) {
        time = settlementOnDay(day0.plus({ days: index })).toMillis();
        cache.set(index, time);
      }
      return time;
    },
    lastIndexAtOrBefore(ms) {
      return Math.round(lastSettlementDay(ms).diff(day0, 'days').days);
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
