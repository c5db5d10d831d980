import { centicentsToDecimalString } from './centicents';
import { formatUsdExact } from './usd-format';

/** The pair of answer fields of one amount: `<name>_centicents` (decimal string) and `<name>_usd`. */
export type MoneyFields<N extends string, V> = Record<`${N}_centicents` | `${N}_usd`, V>;

/** `<name>_centicents` as a decimal string with `<name>_usd` beside it (every centicent); no value stays null. */
export function moneyFields<N extends string>(name: N, value: string | bigint): MoneyFields<N, string>;
export function moneyFields<N extends string>(name: N, value: string | bigint | null | undefined): MoneyFields<N, string | null>;
export function moneyFields<N extends string>(name: N, value: string | bigint | null | undefined): MoneyFields<N, string | null> {
  const amount = value === null || value === undefined ? null : BigInt(value);
  const [centicents, usd] = fieldNames(name);
  const fields: Record<string, string | null> = {};
  fields[centicents] = amount === null ? null : centicentsToDecimalString(amount);
  fields[usd] = amount === null ? null : formatUsdExact(amount);
  return fields as MoneyFields<N, string | null>;
}

/** The two field names of each amount name, built once: an API page formats nine amounts a row. */
const names = new Map<string, readonly [string, string]>();

function fieldNames(name: string): readonly [string, string] {
  let pair = names.get(name);
  if (pair === undefined) {
    pair = [`${name}_centicents`, `${name}_usd`];
    if (names.size < 1_000) names.set(name, pair);
  }
  return pair;
}
