import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { InvalidInput } from './domain-error';

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

/** Decodes a cursor made by encodeCursor, checking its arity; a bad cursor is a 400, not a 500. */
export function decodeCursor(cursor: string | undefined, arity: number): string[] | null {
  if (!cursor) return null;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === arity && v.every((x) => typeof x === 'string' || typeof x === 'number')) {
      return v.map(String);
    }
  } catch {
    // fall through
  }
  throw new InvalidInput('cursor: not a cursor returned by this API', [{ field: 'cursor', problems: ['not a cursor returned by this API'] }]);
}

/** Builds a page from `limit + 1` fetched rows. */
export function toPage<T, R>(rows: T[], limit: number, cursorOf: (last: T) => Array<string | number>, map: (row: T) => R): Page<R> {
  const more = rows.length > limit;
  const slice = more ? rows.slice(0, limit) : rows;
  return { data: slice.map(map), next_cursor: more ? encodeCursor(cursorOf(slice[slice.length - 1])) : null };
}
