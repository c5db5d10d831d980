import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { InvalidInput } from '@app/errors';

/** `?limit=&cursor=` of every list route (default 50, max 500). */
export class PageQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @ApiPropertyOptional({ description: 'opaque cursor from the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'cursor must be a cursor returned by this API' })
  cursor?: string;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export function encodeCursor(values: Array<string | number>): string {
  return Buffer.from(JSON.stringify(values), 'utf8').toString('base64url');
}

/**
 * What each position of a cursor holds. A cursor is opaque to callers but not trusted: a well-formed
 * cursor with a wrong value (`["x"]` where a sequence number belongs) must be a 400, never reach SQL.
 * `int`: a non-negative integer (bigint ids, sequence numbers); `timestamp`: an instant as
 * `toISOString()` writes it; `uuid`; `date`: YYYY-MM-DD; `text`: at most 256 characters, no control
 * characters (opaque ids from Klear or the ledger).
 */
export type CursorField = 'int' | 'timestamp' | 'uuid' | 'date' | 'text';

const CURSOR_FIELD_CHECKS: Record<CursorField, (value: string) => boolean> = {
  int: (v) => /^\d{1,18}$/.test(v),
  timestamp: (v) =>
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z$/.test(v) && realDate(v.slice(0, 10)) && Number.isFinite(Date.parse(v)),
  uuid: (v) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
  date: (v) => /^\d{4}-\d{2}-\d{2}$/.test(v) && realDate(v),
  // eslint-disable-next-line no-control-regex
  text: (v) => v.length <= 256 && !/[\u0000-\u001f\u007f]/.test(v),
};

function realDate(text: string): boolean {
  const [y, m, d] = text.split('-').map(Number);
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/** The 400 of a cursor this API did not make, naming the query parameter. */
export class InvalidCursor extends InvalidInput {
  constructor(parameter = 'cursor') {
    super(
      `${parameter}: not a cursor returned by this API`,
      [{ field: parameter, problems: ['not a cursor returned by this API'] }],
      'INVALID_CURSOR',
    );
  }
}

/**
 * Decodes a cursor made by encodeCursor and checks every position against `fields` (arity and
 * kind); anything else is a 400 naming the parameter (InvalidCursor), never a 500 from the database.
 */
export function decodeCursor(cursor: string | undefined, fields: readonly CursorField[], parameter = 'cursor'): string[] | null {
  if (cursor === undefined || cursor === '') return null;
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursor(parameter);
  }
  if (!Array.isArray(values) || values.length !== fields.length) throw new InvalidCursor(parameter);
  const out: string[] = [];
  fields.forEach((kind, i) => {
    const v = values[i];
    const text = typeof v === 'string' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : null;
    if (text === null || !CURSOR_FIELD_CHECKS[kind](text)) throw new InvalidCursor(parameter);
    out.push(text);
  });
  return out;
}

/** Builds a page from `limit + 1` fetched rows. */
export function toPage<T, R>(rows: T[], limit: number, cursorOf: (last: T) => Array<string | number>, map: (row: T) => R): Page<R> {
  const more = rows.length > limit;
  const slice = more ? rows.slice(0, limit) : rows;
  return { data: slice.map(map), next_cursor: more ? encodeCursor(cursorOf(slice[slice.length - 1])) : null };
}
