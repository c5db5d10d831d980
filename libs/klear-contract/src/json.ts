import { LosslessNumber, parse } from 'lossless-json';

// A JSON integer token: no fraction, no exponent. Anything else stays a LosslessNumber so that a
// schema expecting bigint rejects it instead of rounding it.
const JSON_INTEGER_TOKEN = /^-?(?:0|[1-9][0-9]*)$/;

function parseKlearNumber(token: string): bigint | LosslessNumber {
  return JSON_INTEGER_TOKEN.test(token) ? BigInt(token) : new LosslessNumber(token);
}

/**
 * Parses a Klear response body without losing precision: every JSON integer becomes a `bigint`
 * (int64 centicents exceed 2^53), every other number stays a `LosslessNumber` and therefore fails the
 * contract's bigint and count schemas. Throws `SyntaxError` on malformed JSON.
 */
export function parseKlearJson(text: string): unknown {
  return parse(text, null, parseKlearNumber);
}

/**
 * Serializes a value for the Klear wire: bigints are written as bare JSON integers, `undefined`
 * properties are dropped (like JSON.stringify), numbers must be finite.
 */
export function stringifyKlearJson(value: unknown): string {
  const parts: string[] = [];
  writeValue(value, parts);
  return parts.join('');
}

function writeValue(value: unknown, out: string[]): void {
  switch (typeof value) {
    case 'bigint':
      out.push(value.toString());
      return;
    case 'string':
      out.push(quoted(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`Cannot write the non-finite number ${value} as Klear JSON.`);
      out.push(String(value));
      return;
    case 'object':
      if (value === null) {
        out.push('null');
      } else if (value instanceof LosslessNumber) {
        out.push(value.value);
      } else if (Array.isArray(value)) {
        out.push('[');
        value.forEach((item, index) => {
          if (index > 0) out.push(',');
          writeValue(item === undefined ? null : item, out);
        });
        out.push(']');
      } else {
        writeObject(value as Record<string, unknown>, out);
      }
      return;
    default:
      throw new TypeError(`Cannot write a ${typeof value} as Klear JSON.`);
  }
}

function writeObject(record: Record<string, unknown>, out: string[]): void {
  out.push('{');
  let first = true;
  for (const key of Object.keys(record)) {
    const item = record[key];
    if (item === undefined || typeof item === 'function') continue;
    if (!first) out.push(',');
    first = false;
    out.push(quotedKey(key));
    writeValue(item, out);
  }
  out.push('}');
}

// Content hashes write every settlement detail of an obligation through this (1,000,000 a cycle):
// JSON.stringify called per string dominated the cost. A string of printable ASCII without a quote
// or backslash is written as is (what JSON.stringify would answer); any other goes through it.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function quoted(text: string): string {
  return PLAIN.test(text) ? `"${text}"` : JSON.stringify(text);
}

const keyCache = new Map<string, string>();

/** `"key":`, remembered for the few keys the contract has (capped so odd keys cannot grow it). */
function quotedKey(key: string): string {
  let text = keyCache.get(key);
  if (text === undefined) {
    text = `${quoted(key)}:`;
    if (keyCache.size < 1_000) keyCache.set(key, text);
  }
  return text;
}
