import type { ValueTransformer } from 'typeorm';
import { assertCenticents, parseCenticents } from './centicents';
import { MoneyError, describeInput } from './money-error';

/**
 * TypeORM transformer for `type: 'bigint'` money columns. The pg driver returns int8 as a string
 * (we never set parseInt8: it rounds above 2^53), so: entity bigint <-> database decimal string.
 *
 * null and undefined pass through in both directions, so one transformer serves nullable and
 * NOT NULL columns alike (PostgreSQL enforces NOT NULL; TypeORM also calls `to(undefined)` for
 * `IsNull()` and for properties absent from a partial update). A JS number is refused both ways:
 * on the way in it may already have lost precision, on the way out it means parseInt8 was switched on.
 */
export const bigintColumnTransformer: ValueTransformer = {
  to(value: bigint | null | undefined): string | null | undefined {
    if (value === null || value === undefined) return value;
    assertCenticents(value, 'value for a bigint column');
    return value.toString();
  },
  from(value: string | null): bigint | null {
    if (value === null || value === undefined) return null;
    if (typeof value !== 'string') {
      throw new MoneyError(
        'MONEY_INVALID_TYPE',
        `A bigint column came back as ${describeInput(value)}, not a string; is the pg int8 parser overridden?`,
      );
    }
    return parseCenticents(value);
  },
};
