const RFC3339 = /^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})$/i;

/**
 * An RFC 3339 date-time as nanoseconds since the epoch: comparisons at Klear's precision (a JS Date
 * keeps milliseconds only). Digits beyond nanoseconds are dropped.
 */
export function instantNs(text: string): bigint {
  const match = RFC3339.exec(text);
  if (match === null) throw new Error(`not an RFC 3339 date-time: ${text}`);
  const wholeSeconds = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(wholeSeconds)) throw new Error(`not an RFC 3339 date-time: ${text}`);
  const fraction = (match[2] ?? '').slice(0, 9).padEnd(9, '0');
  return BigInt(wholeSeconds) * 1_000_000n + BigInt(fraction);
}

/**
 * A date-time cursor just after `ns`, at millisecond precision (a server that reads only milliseconds
 * reads it the same): the first millisecond boundary after the instant. Whether Klear's next page is
 * strictly before the cursor or at and before it, the page then starts with the obligations at `ns`.
 */
export function cursorJustAfter(ns: bigint): string {
  const ms = ns / 1_000_000n + 1n;
  return new Date(Number(ms)).toISOString();
}

/**
 * The microsecond PostgreSQL stores for an RFC 3339 date-time (it rounds half to even below the
 * microsecond): two times that differ only below it are one stored instant.
 */
export function storedInstantUs(text: string): bigint {
  const ns = instantNs(text);
  const us = ns / 1_000n;
  const rest = ns % 1_000n;
  return rest > 500n || (rest === 500n && us % 2n === 1n) ? us + 1n : us;
}

/** A stored instant (microseconds since the epoch) as RFC 3339 text at that precision. */
export function microsecondText(us: bigint): string {
  const ms = us / 1_000n;
  return `${new Date(Number(ms)).toISOString().slice(0, 23)}${String(us % 1_000n).padStart(3, '0')}Z`;
}
