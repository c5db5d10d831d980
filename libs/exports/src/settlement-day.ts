import { DateTime } from 'luxon';

export const SETTLEMENT_ZONE = 'America/New_York';

export interface SettlementDay {
  /** `YYYY-MM-DD` */
  date: string;
  /** The ET day's first instant and the next day's first instant (23 or 25 hours apart at DST changes). */
  start: Date;
  end: Date;
}

export class InvalidSettlementDate extends Error {}

/** The ET settlement day of `YYYY-MM-DD`: a cycle belongs to the ET date of its execution_time. */
export function settlementDay(date: string): SettlementDay {
  const start = /^\d{4}-\d{2}-\d{2}$/.test(date) ? DateTime.fromISO(date, { zone: SETTLEMENT_ZONE }) : null;
  if (!start?.isValid || start.toISODate() !== date) throw new InvalidSettlementDate(`${date} is not a calendar date (YYYY-MM-DD)`);
  return { date, start: start.toJSDate(), end: start.plus({ days: 1 }).toJSDate() };
}

/** The ET date of an instant. */
export function settlementDateOf(at: Date): string {
  return DateTime.fromJSDate(at, { zone: SETTLEMENT_ZONE }).toISODate()!;
}

/** The workbook's download name: `klear-recon-YYYY-MM-DD.xlsx`, `-vN` before the extension for rebuilds. */
export function workbookFileName(date: string, version: number): string {
  return version <= 1 ? `klear-recon-${date}.xlsx` : `klear-recon-${date}-v${version}.xlsx`;
}
