/**
 * The JSON shape of `T` after toJsonSafe: every bigint becomes its decimal string; values with their
 * own `toJSON` (Date, luxon DateTime, Buffer) keep their type, JSON.stringify serialises them.
 */
export type JsonSafe<T> = T extends bigint
  ? string
  : T extends { toJSON(): unknown }
    ? T
    : T extends readonly (infer Item)[]
      ? JsonSafe<Item>[]
      : T extends object
        ? { [K in keyof T]: JsonSafe<T[K]> }
        : T;

/**
 * Deep-converts bigints (centicents) to decimal strings for API output: JSON.stringify throws on a
 * bigint, and a JSON number would lose precision past 2^53. Arrays and objects (plain or entity
 * instances, own enumerable properties) are copied; anything with a `toJSON` is left to it.
 */
export function toJsonSafe<T>(value: T): JsonSafe<T> {
  return convert(value, new Set()) as JsonSafe<T>;
}

function convert(value: unknown, ancestors: Set<object>): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object' || value === null) return value;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  if (ancestors.has(value)) {
    // JSON.stringify would throw on the cycle too; say so here, where the structure is known.
    throw new TypeError('toJsonSafe: the value contains a reference cycle');
  }
  ancestors.add(value);
  const result = Array.isArray(value)
    ? value.map((item) => convert(item, ancestors))
    : Object.fromEntries(Object.entries(value).map(([key, item]) => [key, convert(item, ancestors)]));
  ancestors.delete(value);
  return result;
}
