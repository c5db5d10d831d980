import { LosslessNumber } from 'lossless-json';
import { KLEAR_OPENAPI } from './openapi';

// A validator for the subset of JSON Schema (2020-12, as OpenAPI 3.1 uses it) the Klear document
// is written in: $ref, type (one or several), properties, required, additionalProperties, items,
// enum, minLength, minItems, maxItems, minimum, maximum, pattern, format (int64, date-time, date).
// It works on parseKlearJson output: a JSON integer is a bigint, any other number a LosslessNumber,
// so "int64 as integers" is checked exactly (1.0, 1e3 and 2^63 all fail).

type Schema = Record<string, unknown>;

export interface ContractViolation {
  path: string;
  message: string;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

const resolved = new WeakMap<Schema, Schema>();
const patterns = new Map<string, RegExp>();

function pattern(source: string): RegExp {
  let compiled = patterns.get(source);
  if (compiled === undefined) patterns.set(source, (compiled = new RegExp(source)));
  return compiled;
}

function resolve(schema: Schema): Schema {
  const cached = resolved.get(schema);
  if (cached !== undefined) return cached;
  const result = resolveUncached(schema);
  resolved.set(schema, result);
  return result;
}

function resolveUncached(schema: Schema): Schema {
  let current = schema;
  while (typeof current.$ref === 'string') {
    const name = current.$ref.replace('#/components/schemas/', '');
    const target = (KLEAR_OPENAPI.components.schemas as Record<string, Schema>)[name];
    if (target === undefined) throw new Error(`unresolved $ref ${current.$ref}`);
    const { $ref: _ref, ...rest } = current;
    current = { ...target, ...rest };
  }
  return current;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'bigint') return 'integer';
  if (value instanceof LosslessNumber || typeof value === 'number') return 'number';
  return typeof value; // string, boolean, object
}

function matchesType(actual: string, expected: string): boolean {
  return actual === expected || (expected === 'number' && actual === 'integer');
}

/** Every violation of `value` against `schema` (an empty list: conforming). */
export function validateSchema(schema: Schema, value: unknown, path = '$', out: ContractViolation[] = []): ContractViolation[] {
  const s = resolve(schema);
  const actual = typeOf(value);
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => matchesType(actual, t))) {
      out.push({ path, message: `expected ${types.join(' or ')}, got ${actual}` });
      return out;
    }
  }
  if (Array.isArray(s.enum) && !s.enum.includes(value)) out.push({ path, message: `not one of ${s.enum.join(', ')}` });
  switch (actual) {
    case 'integer': {
      const n = value as bigint;
      if (s.format === 'int64' && (n < INT64_MIN || n > INT64_MAX)) out.push({ path, message: 'outside int64' });
      if (typeof s.minimum === 'number' && n < BigInt(s.minimum)) out.push({ path, message: `below ${s.minimum}` });
      if (typeof s.maximum === 'number' && n > BigInt(s.maximum)) out.push({ path, message: `above ${s.maximum}` });
      break;
    }
    case 'string': {
      const text = value as string;
      if (typeof s.minLength === 'number' && text.length < s.minLength) out.push({ path, message: `shorter than ${s.minLength}` });
      if (typeof s.pattern === 'string' && !pattern(s.pattern).test(text)) out.push({ path, message: `does not match ${s.pattern}` });
      if (s.format === 'date-time' && (!DATE_TIME.test(text) || Number.isNaN(Date.parse(text))))
        out.push({ path, message: 'not an RFC 3339 date-time' });
      if (s.format === 'date' && !DATE.test(text)) out.push({ path, message: 'not a YYYY-MM-DD date' });
      break;
    }
    case 'array': {
      const items = value as unknown[];
      if (typeof s.minItems === 'number' && items.length < s.minItems) out.push({ path, message: `fewer than ${s.minItems} items` });
      if (typeof s.maxItems === 'number' && items.length > s.maxItems) out.push({ path, message: `more than ${s.maxItems} items` });
      if (s.items !== undefined) items.forEach((item, i) => validateSchema(s.items as Schema, item, `${path}[${i}]`, out));
      break;
    }
    case 'object': {
      const record = value as Record<string, unknown>;
      const properties = (s.properties ?? {}) as Record<string, Schema>;
      for (const name of (s.required ?? []) as string[]) {
        if (!(name in record) || record[name] === undefined) out.push({ path: `${path}.${name}`, message: 'required field missing' });
      }
      for (const [name, item] of Object.entries(record)) {
        if (item === undefined) continue;
        if (name in properties) validateSchema(properties[name], item, `${path}.${name}`, out);
        else if (s.additionalProperties === false) out.push({ path: `${path}.${name}`, message: 'unexpected field' });
        else if (typeof s.additionalProperties === 'object') validateSchema(s.additionalProperties as Schema, item, `${path}.${name}`, out);
      }
      break;
    }
    default:
      break;
  }
  return out;
}

/** The path template of the document a concrete path belongs to (`/margin/obligations/x/...`). */
export function openApiPathOf(path: string): string | undefined {
  for (const template of Object.keys(KLEAR_OPENAPI.paths)) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (pattern.test(path)) return template;
  }
  return undefined;
}

/** The response schema of an operation for a status, or undefined when the document has none. */
export function responseSchemaOf(method: string, template: string, status: number): Schema | undefined {
  const operation = (
    KLEAR_OPENAPI.paths as Record<
      string,
      Record<string, { responses: Record<string, { content: { 'application/json': { schema: Schema } } }> }>
    >
  )[template]?.[method.toLowerCase()];
  return operation?.responses[String(status)]?.content['application/json'].schema;
}

/** Validates one answer (method, concrete path, status, parsed body) against the document. */
export function validateAnswer(method: string, path: string, status: number, body: unknown): ContractViolation[] {
  const template = openApiPathOf(path);
  if (template === undefined) return [{ path: '', message: `${method} ${path} is not in the contract` }];
  // 429 and 502-504 come from the gateway, not the API: the error shape is still required of them.
  const schema = responseSchemaOf(method, template, status) ?? (status >= 400 ? { $ref: '#/components/schemas/Error' } : undefined);
  if (schema === undefined) return [{ path: '', message: `${method} ${template} documents no ${status} answer` }];
  return validateSchema(schema, body);
}

/** The schema of a named component (tests). */
export function componentSchema(name: keyof typeof KLEAR_OPENAPI.components.schemas): Schema {
  return KLEAR_OPENAPI.components.schemas[name] as Schema;
}

/**
 * Fields of an answer the contract does not name (Klear added them), as generalised paths
 * (`obligations[].new_field`, `estimates{}.extra`): kept in the archive, reported on the job run.
 */
export function unmappedFields(schema: Schema, value: unknown, path = '', out = new Set<string>()): Set<string> {
  const s = resolve(schema);
  if (Array.isArray(value)) {
    if (s.items !== undefined) for (const item of value) unmappedFields(s.items as Schema, item, `${path}[]`, out);
    return out;
  }
  if (value === null || typeof value !== 'object' || value instanceof LosslessNumber) return out;
  const record = value as Record<string, unknown>;
  const properties = s.properties as Record<string, Schema> | undefined;
  for (const [name, item] of Object.entries(record)) {
    if (properties !== undefined && name in properties) {
      unmappedFields(properties[name], item, path ? `${path}.${name}` : name, out);
    } else if (typeof s.additionalProperties === 'object') {
      unmappedFields(s.additionalProperties as Schema, item, `${path}{}`, out);
    } else {
      out.add(path ? `${path}.${name}` : name);
    }
  }
  return out;
}
