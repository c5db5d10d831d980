/**
 * Deterministic JSON: object keys sorted at every depth, bigint written as a decimal string.
 * PostgreSQL's jsonb reorders keys, so hashes are computed over this form, never over raw text.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(normalize(value));
}

function normalize(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(normalize);
  if (value !== null && typeof value === 'object') {
    // Without a prototype, a key named "__proto__" (JSON.parse and jsonb make it an own key) is written
    // as a key like any other: on a plain object the assignment set the prototype and the key vanished
    // from the text, so {"amount":1} and {"amount":1,"__proto__":{...}} hashed the same.
    const out = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = normalize(v);
    }
    return out;
  }
  return value;
}
