import { DateTime } from 'luxon';
import { BadRequest } from './http-io';

const REPORT_DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;
const RFC3339 = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$/;

export function optionalDate(query: URLSearchParams, name: string): string | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  if (!REPORT_DATE.test(raw) || !DateTime.fromISO(raw).isValid) {
    throw new BadRequest('invalid_parameter', `${name} must be a date YYYY-MM-DD`);
  }
  return raw;
}

export function requiredDate(query: URLSearchParams, name: string): string {
  const value = optionalDate(query, name);
  if (value === undefined) throw new BadRequest('invalid_parameter', `${name} is required`);
  return value;
}

export function pageLimit(query: URLSearchParams, fallback: number, max: number): number {
  const raw = query.get('limit');
  if (raw === null) return fallback;
  if (!/^[0-9]{1,6}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    throw new BadRequest('invalid_parameter', `limit must be an integer from 1 to ${max}`);
  }
  return Number(raw);
}

/** Parses an RFC 3339 date-time (obligation history cursor) into epoch milliseconds. */
export function dateTimeCursor(raw: string): number {
  const ms = Date.parse(raw);
  if (!RFC3339.test(raw) || Number.isNaN(ms)) throw new BadRequest('invalid_parameter', 'cursor must be an RFC 3339 date-time');
  return ms;
}

/** Balance-history cursors are opaque: base64url of the last entry's sort key. */
export function encodeEventCursor(sortKey: string): string {
  return Buffer.from(sortKey, 'utf8').toString('base64url');
}

export function decodeEventCursor(raw: string): string {
  const decoded = /^[A-Za-z0-9_-]{1,64}$/.test(raw) ? Buffer.from(raw, 'base64url').toString('utf8') : '';
  if (!/^[0-9]{15}\.[0-9]\.[0-9]{9}$/.test(decoded)) throw new BadRequest('invalid_parameter', 'cursor is malformed');
  return decoded;
}
