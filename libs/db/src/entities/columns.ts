import { bigintColumnTransformer } from '@app/money';

/** A `bigint` column read and written as a JS bigint (centicents, counts, fingerprints): never a JS number. */
export const bigintColumn = { type: 'bigint' as const, transformer: bigintColumnTransformer };
/** Money in centicents. */
export const money = bigintColumn;
export const optionalMoney = { ...money, nullable: true };
