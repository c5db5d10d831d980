import { DateTime } from 'luxon';

/** The settlement day (America/New_York) of an instant, `YYYY-MM-DD`. */
export function etDate(at: Date): string {
  return DateTime.fromJSDate(at, { zone: 'America/New_York' }).toISODate()!;
}

export function etDateDaysBefore(date: string, days: number): string {
  return DateTime.fromISO(date, { zone: 'America/New_York' }).minus({ days }).toISODate()!;
}
