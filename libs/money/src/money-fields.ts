import { centicentsToDecimalString } from './centicents';
import { formatUsdExact } from './usd-format';

/** The pair of answer fields of one amount: `<name>_centicents` (decimal string) and `<name>_usd`. */
export type MoneyFields<N extends string, V> = Record<`${N}_centicents` | `${N}_usd`, V>;

/** `<name>_centicents` as a decimal string with `<name>_usd` beside it (every centicent); no value stays null. */
export function moneyFields<N extends string>(name: N, value: string | bigint): MoneyFields<N, string>;
export function moneyFields<N extends string>(name: N, value: string | bigint | null | undefined): MoneyFields<N, string | null>;
export function moneyFields<N extends string>(name: N, value: string | bigint | null | undefined): MoneyFields<N, string | null> {
  const amount = value === null || value === undefined ? null : BigInt(value);
  return {
    [`${name}_centicents`]: amount === null ? null : centicentsToDecimalString(amount),
    [`${name}_usd`]: amount === null ? null : formatUsdExact(amount),
  } as MoneyFields<N, string | null>;
}
