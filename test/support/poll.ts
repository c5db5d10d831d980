/**
 * Waits for a condition instead of sleeping a fixed time: polls `probe` until `ok` holds, with a
 * generous deadline that only catches a hang (a busy machine is slow, not wrong). Deadlines are
 * measured with performance.now(), which does not move with the date (faketime, a clock change).
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 120_000,
  everyMs = 50,
): Promise<T> {
  const started = performance.now();
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (performance.now() - started > timeoutMs)
      throw new Error(
        `${what}: still ${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))} after ${timeoutMs} ms`,
      );
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
