import { describe, expect, it } from '@jest/globals';
import { LosslessNumber } from 'lossless-json';
import type { z } from 'zod';
import { ENDPOINTS, type KlearEndpointName } from './endpoints';
import { KLEAR_OPENAPI } from './openapi';
import { responseSchemaOf, unmappedFields, validateAnswer, validateSchema } from './openapi-validate';

// The zod schemas (what the client accepts) and the OpenAPI document (the contract) must agree:
// for every endpoint, a complete sample generated from the document is accepted by both, and each
// mutation (a required field dropped, a value of the wrong type, an int64 written as a fraction, an
// optional field dropped, a list sent as null, an unknown field added) is judged alike by both.

type Schema = Record<string, unknown>;
const schemas = KLEAR_OPENAPI.components.schemas as Record<string, Schema>;

function resolve(schema: Schema): Schema {
  return typeof schema.$ref === 'string' ? resolve(schemas[schema.$ref.replace('#/components/schemas/', '')]) : schema;
}

/** A complete value of a schema: every property present, one entry in each map and list. */
function sample(schema: Schema): unknown {
  const s = resolve(schema);
  const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
  if (Array.isArray(s.enum)) return s.enum[0];
  if (types.includes('array')) return [sample(s.items as Schema)];
  if (types.includes('integer')) return 7n;
  if (types.includes('boolean')) return true;
  if (types.includes('string')) {
    if (s.format === 'date-time') return '2026-12-02T22:00:00Z';
    if (s.format === 'date') return '2026-12-02';
    if (typeof s.pattern === 'string' && s.pattern.includes('{2}')) return '500.00';
    if (typeof s.pattern === 'string') return '-1.25'.replace(/^-/, s.pattern.startsWith('^-') ? '-' : '');
    return 'x';
  }
  const out: Record<string, unknown> = {};
  for (const [name, property] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) out[name] = sample(property);
  if (typeof s.additionalProperties === 'object') out.K = sample(s.additionalProperties as Schema);
  return out;
}

interface Mutation {
  description: string;
  value: unknown;
}

/** Every mutation point of a sample, found by walking it alongside its schema. */
function mutations(schema: Schema, value: unknown, set: (v: unknown) => unknown, path: string, out: Mutation[]): void {
  const s = resolve(schema);
  const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
  if (types.includes('null') && value !== null) out.push({ description: `${path} = null`, value: set(null) });
  if (Array.isArray(value)) {
    mutations(s.items as Schema, value[0], (v) => set([v]), `${path}[0]`, out);
    return;
  }
  if (typeof value === 'bigint') {
    out.push({ description: `${path} as a fraction`, value: set(new LosslessNumber('7.5')) });
    out.push({ description: `${path} as a string`, value: set('7') });
    return;
  }
  if (typeof value === 'string' || typeof value === 'boolean') {
    out.push({ description: `${path} as a number`, value: set(7n) });
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const record = value as Record<string, unknown>;
  const properties = (s.properties ?? {}) as Record<string, Schema>;
  const required = new Set((s.required ?? []) as string[]);
  out.push({ description: `${path} with an unknown field`, value: set({ ...record, klear_added_this: 1n }) });
  for (const name of Object.keys(record)) {
    const { [name]: _dropped, ...without } = record;
    out.push({ description: `${path}.${name} ${required.has(name) ? 'required' : 'optional'}, dropped`, value: set(without) });
    const child = properties[name] ?? (s.additionalProperties as Schema);
    mutations(child, record[name], (v) => set({ ...record, [name]: v }), `${path}.${name}`, out);
  }
}

const live = (Object.entries(ENDPOINTS) as [KlearEndpointName, (typeof ENDPOINTS)[KlearEndpointName]][]).filter(
  ([, e]) => !('legacy' in e),
);

describe('the zod schemas and the OpenAPI document agree', () => {
  it('documents exactly the live endpoints, and not the removed ones', () => {
    const documented = Object.entries(KLEAR_OPENAPI.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(live.map(([, e]) => `${e.method} ${e.path}`).sort());
    for (const removed of ['/margin/active_obligation', '/margin/settlement_estimate', '/log_in'])
      expect(Object.keys(KLEAR_OPENAPI.paths)).not.toContain(removed);
  });

  it.each(live.map(([name]) => name))('%s: every sample and mutation is accepted or refused by both', (name) => {
    const endpoint = ENDPOINTS[name];
    const schema = responseSchemaOf(endpoint.method, endpoint.path, 200) as Schema;
    const complete = sample(schema);
    expect(validateSchema(schema, complete)).toEqual([]);
    expect((endpoint.responseSchema as z.ZodType).safeParse(complete).success).toBe(true);
    const all: Mutation[] = [];
    mutations(schema, complete, (v) => v, '$', all);
    expect(all.length).toBeGreaterThan(0);
    const disagreements = all
      .map((m) => ({
        mutation: m.description,
        openapi: validateSchema(schema, m.value).length === 0,
        zod: (endpoint.responseSchema as z.ZodType).safeParse(m.value).success,
      }))
      .filter((r) => r.openapi !== r.zod);
    expect(disagreements).toEqual([]);
  });

  it('refuses a broken required field and accepts an unknown extra one, reporting it as unmapped', () => {
    const entry = sample(schemas.ObligationEntry) as Record<string, unknown>;
    const { amount_centicents: _amount, ...broken } = entry;
    expect(validateAnswer('GET', '/margin/active_obligations', 200, { obligations: [broken] })).toEqual([
      { path: '$.obligations[0].amount_centicents', message: 'required field missing' },
    ]);
    const extended = { obligations: [{ ...entry, clearing_venue: 'K' }], future_field: true };
    expect(validateAnswer('GET', '/margin/active_obligations', 200, extended)).toEqual([]);
    expect([...unmappedFields(responseSchemaOf('GET', '/margin/active_obligations', 200) as Schema, extended)].sort()).toEqual([
      'future_field',
      'obligations[].clearing_venue',
    ]);
  });

  it('checks int64 as integers: a fraction, an exponent and 2^63 all fail', () => {
    const schema = { type: 'integer', format: 'int64' };
    expect(validateSchema(schema, 2n ** 63n - 1n)).toEqual([]);
    expect(validateSchema(schema, 2n ** 63n)).toHaveLength(1);
    expect(validateSchema(schema, new LosslessNumber('1.0'))).toHaveLength(1);
    expect(validateSchema(schema, new LosslessNumber('1e3'))).toHaveLength(1);
  });
});
