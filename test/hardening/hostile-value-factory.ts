// fast-check generators of malformed, boundary and hostile values, driven by an OpenAPI schema.
import fc from 'fast-check';

/** JSON written verbatim (40-digit numbers, 1e309, deep arrays): JSON.stringify cannot produce these. */
export class RawJson {
  constructor(readonly text: string) {}
  toJSON(): string {
    return `\u0000RAW:${this.text}\u0000`;
  }
  [fc.toStringMethod](): string {
    return this.text.length > 60 ? `raw(${this.text.slice(0, 20)}...${this.text.length} chars)` : `raw(${this.text})`;
  }
}

/** Serialises a generated body; RawJsonNumber markers become bare JSON numbers. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0000RAW:([^"\\]+)\\u0000"/g, '$1');
}

const FORMULAS = ['=HYPERLINK("http://evil.test","x")', '=1+1', "+cmd|' /C calc'!A0", '-2+3', '@SUM(A1)', '\t=1'];
const SQLISH = ["' OR 1=1 --", "'; DROP TABLE app_user; --", '1; SELECT pg_sleep(5)', '%', '_', '\\', "O'Brien"];
const NANISH = ['NaN', 'Infinity', '-Infinity', '1e309', '-1e309', '0x10', '1_000', '1,000.00', '1.2.3', '', ' ', '  12  ', '+5', '--1'];
const NUMERIC_STRINGS = [
  '0',
  '-0',
  '-1',
  '-0.01',
  '0.001',
  '0.00',
  '00012',
  '1234567890123456789012345678901234567890',
  '-1234567890123456789012345678901234567890',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775809',
  '1e21',
  '1.5e3',
  '0.1',
  '100.00',
  '12.345',
];
const UNICODE = ['\u0000', '\u202e\u0041\u0042', 'ℌ𝔢𝔩𝔩𝔬', '١٢٣', '１２３', '\ud800', 'e\u0301', '🚀💸', 'ǅ', '\uFEFF1'];
const NOT_UUIDS = [
  'not-a-uuid',
  '1',
  '0',
  '-1',
  '00000000-0000-0000-0000-00000000000',
  '00000000-0000-4000-8000-0000000000000',
  "1' OR '1'='1",
  '..%2f..%2fetc%2fpasswd',
  '%00',
  'ZZZZZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZZZZZZZZZ',
  '9'.repeat(40),
  'null',
  'undefined',
  '__proto__',
  'constructor',
];
const DATES = ['2026-02-30', '2026-13-01', '0000-00-00', '9999-12-31', '2026-11-19T25:00:00Z', 'yesterday', '20261119', '1e309'];

export const hostileString = fc.oneof(
  fc.constantFrom(...FORMULAS, ...SQLISH, ...NANISH, ...NUMERIC_STRINGS, ...UNICODE, ...NOT_UUIDS, ...DATES),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.integer({ min: 1_000, max: 70_000 }).map((n) => 'A'.repeat(n)),
  fc.constantFrom('9'.repeat(40), '-' + '9'.repeat(40)),
  fc.bigInt({ min: -(10n ** 45n), max: 10n ** 45n }).map(String),
);

const hostileNumber = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    -1,
    1,
    -0.01,
    0.001,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 2,
    -Number.MAX_SAFE_INTEGER,
    1e21,
    1.7976931348623157e308,
    5e-324,
  ),
  fc
    .constantFrom(
      '1e309',
      '-1e309',
      '1234567890123456789012345678901234567890',
      '-1234567890123456789012345678901234567890',
      '0.000000000000000000001',
      '1E400',
    )
    .map((t) => new RawJson(t)),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);

/** Objects whose own keys are prototype-pollution bait. */
const pollutingObject = fc
  .tuple(
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'),
    fc.oneof(fc.constant({ polluted: true }), fc.constant({ prototype: { polluted: true } }), hostileString),
  )
  .map(([key, value]) => Object.fromEntries([[key, value]]));

// Deep values: objects up to 40 levels, arrays up to 1,000 (deeper ones are a known 500: see the
// dedicated test in openapi-fuzz.test.ts).
export const MAX_FUZZ_DEPTH = 1_000;
const deepNesting = fc.oneof(
  fc.integer({ min: 5, max: 40 }).map((depth) => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
    return v;
  }),
  fc.integer({ min: 50, max: MAX_FUZZ_DEPTH }).map((depth) => new RawJson(`${'['.repeat(depth)}1${']'.repeat(depth)}`)),
);

/** Any JSON value, weighted toward the hostile ones. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  hostileNumber,
  fc.constantFrom(null, true, false, [], {}, [null], ['1'], [[]]),
  pollutingObject,
  deepNesting,
  fc.array(hostileString, { maxLength: 5 }),
  fc.integer({ min: 2_000, max: 20_000 }).map((n) => Array.from({ length: n }, (_, i) => i)),
);

export interface OpenApiSchema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  example?: unknown;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  items?: OpenApiSchema;
  allOf?: OpenApiSchema[];
  oneOf?: OpenApiSchema[];
  anyOf?: OpenApiSchema[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
}

export type SchemaResolver = (schema: OpenApiSchema) => OpenApiSchema;

export function schemaResolver(components: Record<string, OpenApiSchema>): SchemaResolver {
  const resolve = (schema: OpenApiSchema): OpenApiSchema => {
    if (schema.$ref) return resolve(components[schema.$ref.split('/').pop() as string] ?? {});
    if (schema.allOf?.length) {
      const parts = schema.allOf.map(resolve);
      return {
        ...parts.reduce((a, b) => ({ ...a, ...b, properties: { ...a.properties, ...b.properties } }), {}),
        ...schema,
        allOf: undefined,
      };
    }
    return schema;
  };
  return resolve;
}

/** A value that fits the declared type, so that the other fields of a body get exercised. */
function plausibleValue(schema: OpenApiSchema, resolve: SchemaResolver, depth: number): fc.Arbitrary<unknown> {
  const s = resolve(schema);
  const examples = [s.example, ...(s.enum ?? [])].filter((v) => v !== undefined);
  const fromExample = examples.length ? [fc.constantFrom(...examples)] : [];
  switch (s.type) {
    case 'string':
      if (s.format === 'uuid') return fc.oneof(fc.uuid(), fc.constantFrom(...NOT_UUIDS));
      if (s.format === 'date' || s.format === 'date-time')
        return fc.oneof(fc.constantFrom('2026-11-19', '2026-11-19T12:00:00Z'), fc.constantFrom(...DATES));
      return fc.oneof(...fromExample, fc.constantFrom(...NUMERIC_STRINGS, ...FORMULAS, ...SQLISH), fc.string({ maxLength: 20 }));
    case 'integer':
    case 'number':
      return fc.oneof(...fromExample, hostileNumber);
    case 'boolean':
      return fc.oneof(fc.boolean(), fc.constantFrom('true', 1, 0, 'yes'));
    case 'array':
      return depth > 3 ? fc.constant([]) : fc.array(plausibleValue(s.items ?? {}, resolve, depth + 1), { maxLength: 4 });
    case 'object':
      return depth > 3 ? fc.constant({}) : schemaBody(s, resolve, depth + 1);
    default:
      return fromExample.length ? fc.oneof(fromExample[0], hostileValue) : hostileValue;
  }
}

/** An object shaped like the schema whose fields are plausible, hostile, missing or extra. */
function schemaBody(schema: OpenApiSchema, resolve: SchemaResolver, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema);
  const fields = Object.entries(s.properties ?? {});
  const fieldArbs = fields.map(([name, fieldSchema]) =>
    fc
      .oneof(
        { weight: 3, arbitrary: plausibleValue(fieldSchema, resolve, depth).map((v) => ({ keep: true, v })) },
        { weight: 3, arbitrary: hostileValue.map((v) => ({ keep: true, v })) },
        { weight: 1, arbitrary: fc.constant({ keep: false, v: undefined as unknown }) },
      )
      .map((choice) => [name, choice] as const),
  );
  return fc
    .tuple(
      fc.tuple(...fieldArbs),
      fc.option(pollutingObject, { nil: undefined }),
      fc.option(fc.dictionary(fc.string({ maxLength: 8 }), hostileValue, { maxKeys: 2 }), { nil: undefined }),
    )
    .map(([chosen, polluting, extra]) => {
      const entries: Array<[string, unknown]> = chosen.filter(([, c]) => c.keep).map(([name, c]) => [name, c.v]);
      if (polluting) entries.push(...Object.entries(polluting));
      if (extra) entries.push(...Object.entries(extra));
      return Object.fromEntries(entries);
    });
}

/** A request body for the schema: usually shaped like it, sometimes the wrong kind of JSON entirely. */
export function bodyFor(schema: OpenApiSchema | undefined, resolve: SchemaResolver): fc.Arbitrary<unknown> {
  const shaped = schema ? schemaBody(schema, resolve) : fc.constant({});
  return fc.oneof(
    { weight: 6, arbitrary: shaped },
    { weight: 2, arbitrary: hostileValue },
    { weight: 1, arbitrary: shaped.map((b) => [b]) },
  );
}

/** A query-string value: one hostile string, or the parameter repeated (an array on the server). */
export const hostileQueryValue: fc.Arbitrary<string | string[]> = fc.oneof(
  { weight: 5, arbitrary: hostileString.filter((s) => s.length < 8_000) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...NUMERIC_STRINGS, ...NOT_UUIDS), { minLength: 2, maxLength: 3 }) },
);

export const hostilePathParam = fc.oneof(fc.constantFrom(...NOT_UUIDS), fc.uuid(), fc.string({ minLength: 1, maxLength: 30 }));
