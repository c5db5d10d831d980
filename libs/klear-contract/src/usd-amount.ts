/** 1 USD = 10,000 centicents; withdrawal amounts are whole cents, i.e. multiples of 100 centicents. */
export const CENTICENTS_PER_USD = 10_000n;
const CENTICENTS_PER_CENT = 100n;

// Integer part without leading zeros, optional point with one or two digits. 15 integer digits keep
// every accepted amount inside int64 centicents.
const USD_AMOUNT_INPUT = /^(0|[1-9][0-9]{0,14})(?:\.([0-9]{1,2}))?$/;
/** The wire form Klear answers with: exactly two decimals. */
export const USD_AMOUNT_WIRE = /^(0|[1-9][0-9]{0,14})\.[0-9]{2}$/;

export class UsdAmountError extends Error {
  override name = 'UsdAmountError';
}

/**
 * Strictly parses a withdrawal amount such as "500", "500.5" or "500.00" into centicents.
 * Refuses signs, exponents, separators, more than 2 decimals and zero.
 */
export function usdAmountToCenticents(text: string): bigint {
  const match = USD_AMOUNT_INPUT.exec(text);
  if (match === null) {
    throw new UsdAmountError('amount must be a positive USD string with at most 2 decimals, such as "500.00"');
  }
  const [, whole, fraction = ''] = match;
  const centicents = BigInt(whole) * CENTICENTS_PER_USD + BigInt(fraction.padEnd(2, '0')) * CENTICENTS_PER_CENT;
  if (centicents <= 0n) throw new UsdAmountError('amount must be positive');
  return centicents;
}

/** Formats whole-cent centicents as Klear's withdrawal amount ("500.00"); refuses fractions of a cent and negatives. */
export function centicentsToUsdAmount(centicents: bigint): string {
  if (centicents < 0n) throw new UsdAmountError('a withdrawal amount cannot be negative');
  if (centicents % CENTICENTS_PER_CENT !== 0n) throw new UsdAmountError('a withdrawal amount must be whole cents');
  const cents = centicents / CENTICENTS_PER_CENT;
  return `${cents / 100n}.${(cents % 100n).toString().padStart(2, '0')}`;
}
