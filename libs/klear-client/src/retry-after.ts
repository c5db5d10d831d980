/**
 * Reads a `Retry-After` header (RFC 9110): either delay-seconds or an HTTP date. Returns the delay in
 * milliseconds from `nowMs`, 0 for a date in the past, undefined when absent or unreadable.
 */
export function parseRetryAfterMs(header: string | null | undefined, nowMs: number): number | undefined {
  if (header === null || header === undefined) return undefined;
  const value = header.trim();
  if (/^[0-9]+$/.test(value)) return Number(value) * 1000;
  // Only the date forms HTTP allows (IMF-fixdate and the obsolete ones) contain a letter and a comma or space.
  if (!/[A-Za-z]/.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
