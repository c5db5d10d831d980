import { z } from 'zod';

/**
 * Helpers for declaring environment variables. Every variable is a string in the environment;
 * these turn it into a typed value or fail with a message a person can act on.
 */
export const envInt = (def: number, min = 0, max = 2 ** 31 - 1) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .default(String(def))
    .transform((s) => Number(s))
    .pipe(z.number().int().min(min, `expected at least ${min}`).max(max, `expected at most ${max}`));

export const envBool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
    .default(def ? 'true' : 'false')
    .transform((s) => s === 'true' || s === '1' || s === 'yes');

export const envUrl = (protocols: string[]) =>
  z.string().refine(
    (s) => {
      try {
        return protocols.includes(new URL(s).protocol.replace(':', ''));
      } catch {
        return false;
      }
    },
    `expected a ${protocols.join(' or ')} URL`,
  );

/** A centicents amount given as a decimal integer string (money never passes through a JS number). */
export const envCenticents = (def: bigint) =>
  z
    .string()
    .regex(/^(0|[1-9]\d{0,17})$/, 'expected a whole number of centicents')
    .default(def.toString())
    .transform((s) => BigInt(s));

export const envOptionalString = () =>
  z
    .string()
    .optional()
    .transform((s) => (s === undefined || s === '' ? undefined : s));

/** A comma-separated list of host names (lower-cased; empty when unset). */
export const envHostList = () =>
  z
    .string()
    .regex(
      /^\s*([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(\s*,\s*([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]))*\s*$|^$/,
      'expected comma-separated host names',
    )
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    );
