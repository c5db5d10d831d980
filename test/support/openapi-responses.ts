/**
 * The served OpenAPI document's response schemas, and a strict check of an answer against them:
 * every object schema that declares properties is closed (a field it does not declare is a
 * finding, as with additionalProperties: false), required fields must be present, types, enums and
 * nullability must hold. An object schema without properties (free-form, e.g. a run's `summary`) is open.
 */
export interface ResponseSchema {
  $ref?: string;
  type?: string;
  format?: string;
  nullable?: boolean;
  enum?: unknown[];
  example?: unknown;
  properties?: Record<string, ResponseSchema>;
  required?: string[];
  items?: ResponseSchema;
  allOf?: ResponseSchema[];
  oneOf?: ResponseSchema[];
  anyOf?: ResponseSchema[];
  additionalProperties?: boolean | ResponseSchema;
}

export interface OpenApiOperation {
  method: string;
  path: string;
  responses: Record<string, { description?: string; content?: Record<string, { schema?: ResponseSchema; example?: unknown }> }>;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, Omit<OpenApiOperation, 'method' | 'path'>>>;
  components: { schemas: Record<string, ResponseSchema> };
}

export function operationsOf(doc: OpenApiDocument): OpenApiOperation[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
      .map(([method, op]) => ({ method: method.toUpperCase(), path, responses: op.responses ?? {} })),
  );
}

/** The success answer's schema (200, 201 or 202), or undefined when the route documents none; 204 needs none. */
export function successSchema(op: OpenApiOperation): { status: string; schema?: ResponseSchema; noContent?: true } | undefined {
  for (const status of ['200', '201', '202', '204']) {
    const response = op.responses[status];
    if (!response) continue;
    if (status === '204') return { status, noContent: true };
    const content = Object.values(response.content ?? {})[0];
    return content?.schema && Object.keys(content.schema).length > 0 ? { status, schema: content.schema } : undefined;
  }
  return undefined;
}

/** Every place where `value` does not fit `schema`, as `path: problem` lines (empty when it fits). */
export function schemaFindings(doc: OpenApiDocument, schema: ResponseSchema, value: unknown, path = '$'): string[] {
  const resolve = (s: ResponseSchema): ResponseSchema => (s.$ref ? resolve(doc.components.schemas[s.$ref.split('/').pop()!] ?? {}) : s);
  const s = resolve(schema);
  if (value === null) return s.nullable || s.type === undefined ? [] : [`${path}: null, not declared nullable`];
  if (s.allOf) {
    const merged = s.allOf.map(resolve).reduce<ResponseSchema>(
      (a, b) => ({
        ...a,
        ...b,
        properties: { ...a.properties, ...b.properties },
        required: [...(a.required ?? []), ...(b.required ?? [])],
      }),
      {},
    );
    return schemaFindings(doc, { ...merged, nullable: s.nullable }, value, path);
  }
  const alternatives = s.oneOf ?? s.anyOf;
  if (alternatives) {
    const each = alternatives.map((alt) => schemaFindings(doc, alt, value, path));
    return each.some((f) => f.length === 0) ? [] : [`${path}: fits none of its alternatives (${each.map((f) => f[0]).join(' | ')})`];
  }
  if (s.enum && !s.enum.includes(value)) return [`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(s.enum)}`];
  switch (s.type) {
    case undefined:
      return [];
    case 'string':
      return typeof value === 'string' ? [] : [`${path}: ${typeof value}, not a string`];
    case 'integer':
      return Number.isInteger(value) ? [] : [`${path}: ${JSON.stringify(value)}, not an integer`];
    case 'number':
      return typeof value === 'number' ? [] : [`${path}: ${typeof value}, not a number`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${path}: ${typeof value}, not a boolean`];
    case 'array':
      return Array.isArray(value)
        ? value.flatMap((item, i) => schemaFindings(doc, s.items ?? {}, item, `${path}[${i}]`))
        : [`${path}: not an array`];
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: not an object`];
      const record = value as Record<string, unknown>;
      const declared = s.properties ?? {};
      const open = Object.keys(declared).length === 0 || (s.additionalProperties !== undefined && s.additionalProperties !== false);
      const findings: string[] = [];
      for (const key of Object.keys(record)) {
        if (key in declared) findings.push(...schemaFindings(doc, declared[key], record[key], `${path}.${key}`));
        else if (!open) findings.push(`${path}.${key}: answered but not declared by the schema`);
        else if (typeof s.additionalProperties === 'object')
          findings.push(...schemaFindings(doc, s.additionalProperties, record[key], `${path}.${key}`));
      }
      for (const key of s.required ?? []) if (!(key in record)) findings.push(`${path}.${key}: required by the schema, not answered`);
      return findings;
    }
    default:
      return [];
  }
}
