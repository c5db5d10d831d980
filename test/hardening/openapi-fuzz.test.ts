// Fuzzes every POST/PUT body and every query parameter the running API documents in /docs-json.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { type ApiWorld, startApiWorld } from '../support/api-world';
import {
  MAX_FUZZ_DEPTH,
  bodyFor,
  hostilePathParam,
  hostileQueryValue,
  type OpenApiSchema,
  schemaResolver,
  type SchemaResolver,
  toJsonText,
} from './hostile-value-factory';
import type { Test as SupertestCall } from 'supertest';

const SEED = Number(process.env.FUZZ_SEED ?? 20261119);
const BODY_RUNS = Number(process.env.FUZZ_BODY_RUNS ?? 40);
const QUERY_RUNS = Number(process.env.FUZZ_QUERY_RUNS ?? 25);
/**
 * A fixed amount of work (operations x runs, each with two database snapshots): the deadline only
 * catches a hang. 120 s was passed in the full suite on the shared 2-core machine at load 25-30.
 */
const FUZZ_DEADLINE_MS = 600_000;
const ROLE_ORDER = ['admin', 'operator', 'approver', 'viewer'] as const;

interface Operation {
  method: string;
  path: string;
  parameters: Array<{ name: string; in: string; required?: boolean; schema?: OpenApiSchema }>;
  requestBody?: { content?: Record<string, { schema?: OpenApiSchema }> };
}

interface CallResult {
  status: number;
  text: string;
  body: unknown;
}

let ctx: ApiWorld;
let operations: Operation[];
let resolve: SchemaResolver;
const tokenFor = new Map<string, string>();

// Stack frames ("at fn (file:line)") or source paths in a body mean internals leaked.
const STACK_TRACE = /\n\s+at |\bat [\w$.<>]+ \(|\/work\/|node_modules|\.(ts|js|mjs):\d+/;

beforeAll(async () => {
  ctx = await startApiWorld();
  const doc = (await ctx.http().get('/docs-json')).body as {
    paths: Record<string, Record<string, Omit<Operation, 'method' | 'path'>>>;
    components: { schemas: Record<string, OpenApiSchema> };
  };
  resolve = schemaResolver(doc.components?.schemas ?? {});
  operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
      .map(([method, op]) => ({ method: method.toUpperCase(), path, parameters: op.parameters ?? [], requestBody: op.requestBody })),
  );
}, 60_000);
afterAll(async () => ctx?.close());

/** Row counts of every table in the public schema, and the newest audit id, in one round trip. */
async function snapshot(): Promise<{ counts: Record<string, number>; auditMax: string; refusedImports: number }> {
  const tables = (await ctx.db.dataSource.query(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
  )) as Array<{ table_name: string }>;
  const sql = [
    ...tables.map((t) => `SELECT '${t.table_name}' AS t, count(*)::int AS n FROM "${t.table_name}"`),
    `SELECT ' refused_imports', count(*)::int FROM ledger_import WHERE status IN ('refused', 'rejected')`,
  ].join(' UNION ALL ');
  const rows = (await ctx.db.dataSource.query(sql)) as Array<{ t: string; n: number }>;
  const audit = (await ctx.db.dataSource.query(`SELECT coalesce(max(seq), 0)::text AS m FROM audit_log`)) as Array<{ m: string }>;
  const counts = Object.fromEntries(rows.map((r) => [r.t, r.n]));
  const refusedImports = counts[' refused_imports'];
  delete counts[' refused_imports'];
  return { counts, auditMax: audit[0].m, refusedImports };
}

/**
 * Tables whose row counts changed, ignoring the records of a refused attempt: audit rows saying so,
 * and refused or rejected ledger imports with their rejected rows (every import attempt is recorded).
 */
async function persistedChanges(before: Awaited<ReturnType<typeof snapshot>>): Promise<Record<string, number>> {
  const after = await snapshot();
  const changed: Record<string, number> = {};
  for (const [table, n] of Object.entries(after.counts))
    if (n !== (before.counts[table] ?? 0)) changed[table] = n - (before.counts[table] ?? 0);
  if (changed.ledger_import && after.refusedImports - before.refusedImports === changed.ledger_import) {
    delete changed.ledger_import;
    delete changed.ledger_import_rejection;
  }
  if (changed.audit_log) {
    const added = (await ctx.db.dataSource.query(`SELECT row_to_json(a)::text AS j FROM audit_log a WHERE seq > $1`, [
      before.auditMax,
    ])) as Array<{ j: string }>;
    if (added.every((r) => /reject|refus|denied|fail/i.test(r.j))) delete changed.audit_log;
  }
  return changed;
}

function fillPath(path: string, params: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(params[name] ?? '00000000-0000-4000-8000-000000000000'));
}

function queryString(query: Record<string, string | string[]>): string {
  const parts = Object.entries(query).flatMap(([k, v]) =>
    ([] as string[]).concat(v).map((x) => `${encodeURIComponent(k)}=${encodeURIComponent(x)}`),
  );
  return parts.length ? `?${parts.join('&')}` : '';
}

async function call(method: string, url: string, token: string, body?: string): Promise<CallResult> {
  const agent = ctx.http() as unknown as Record<string, (u: string) => SupertestCall>;
  let req = agent[method.toLowerCase()](url).set('Authorization', `Bearer ${token}`);
  if (body !== undefined) req = req.set('Content-Type', 'application/json').send(body);
  const res = await req;
  return { status: res.status, text: res.text ?? '', body: res.body };
}

/** The first token (admin, operator, approver, viewer) the route does not answer 403 to. */
async function tokenForOperation(op: Operation): Promise<string> {
  const key = `${op.method} ${op.path}`;
  const cached = tokenFor.get(key);
  if (cached) return cached;
  const url = fillPath(op.path, {});
  for (const role of ROLE_ORDER) {
    const res = await call(op.method, url, ctx.tokens[role], ['POST', 'PUT', 'PATCH'].includes(op.method) ? '{}' : undefined);
    if (res.status !== 403) {
      tokenFor.set(key, ctx.tokens[role]);
      return ctx.tokens[role];
    }
  }
  throw new Error(`${key}: every role got 403`);
}

/** Path params: ids that exist (users), random UUIDs, and values that are not UUIDs at all. */
function pathParamArb(op: Operation): fc.Arbitrary<Record<string, string>> {
  const names = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  const known = Object.values(ctx.userIds);
  return fc
    .tuple(...names.map((n) => fc.oneof(fc.constantFrom(...known), hostilePathParam).map((v) => [n, v] as const)))
    .map((e) => Object.fromEntries(e));
}

function assertSafeAnswer(label: string, result: CallResult, changed: Record<string, number>): void {
  const problems: string[] = [];
  if (result.status >= 500) problems.push(`answered ${result.status}: ${result.text.slice(0, 300)}`);
  if (STACK_TRACE.test(result.text)) problems.push(`stack trace or source path in body: ${result.text.slice(0, 300)}`);
  if (result.status >= 400) {
    const body = result.body as { code?: unknown; message?: unknown } | null;
    if (typeof body?.code !== 'string' || typeof body?.message !== 'string')
      problems.push(`error body is not { code, message }: ${result.text.slice(0, 300)}`);
    if (Object.keys(changed).length) problems.push(`rejected with ${result.status} but persisted rows: ${JSON.stringify(changed)}`);
  }
  if (problems.length) throw new Error(`${label}\n${problems.join('\n')}`);
}

function isMultipart(op: Operation): boolean {
  return Object.keys(op.requestBody?.content ?? {}).some((type) => type.startsWith('multipart/'));
}

describe('fuzzing every documented operation with hostile input (seed printed on failure)', () => {
  it('finds the operations in the OpenAPI document', () => {
    expect(operations.filter((op) => op.method === 'POST' || op.method === 'PUT').length).toBeGreaterThan(0);
    expect(operations.some((op) => op.parameters.some((p) => p.in === 'query'))).toBe(true);
  });

  it(
    'answers every malformed POST/PUT body with a 4xx { code, message } or a success, never a 5xx, and persists nothing it rejects',
    async () => {
      const targets = operations.filter(
        (op) => (op.method === 'POST' || op.method === 'PUT') && !isMultipart(op) && !op.path.startsWith('/health'),
      );
      let calls = 0;
      for (const op of targets) {
        const token = await tokenForOperation(op);
        const schema = op.requestBody?.content?.['application/json']?.schema;
        const label = `${op.method} ${op.path} (FUZZ_SEED=${SEED})`;
        await fc.assert(
          fc.asyncProperty(pathParamArb(op), bodyFor(schema, resolve), async (params, body) => {
            const before = await snapshot();
            const text = toJsonText(body);
            const result = await call(op.method, fillPath(op.path, params), token, text);
            calls++;
            assertSafeAnswer(`${label} body=${text.slice(0, 300)}`, result, result.status >= 400 ? await persistedChanges(before) : {});
          }),
          { seed: SEED, numRuns: BODY_RUNS, endOnFailure: true },
        );
      }
      expect(calls).toBe(targets.length * BODY_RUNS);
    },
    FUZZ_DEADLINE_MS,
  );

  it('rejects bodies that are not JSON at all (truncated, wrong content type) with { code, message }', async () => {
    const targets = operations.filter((op) => (op.method === 'POST' || op.method === 'PUT') && !isMultipart(op));
    for (const op of targets) {
      const token = await tokenForOperation(op);
      for (const raw of ['{"a":', '{"a":1}}', "{'a':1}", '\u0000', '[1,2', 'NaN']) {
        const before = await snapshot();
        const result = await call(op.method, fillPath(op.path, {}), token, raw);
        expect(result.status).toBeGreaterThanOrEqual(400);
        assertSafeAnswer(`${op.method} ${op.path} raw=${JSON.stringify(raw)}`, result, await persistedChanges(before));
      }
    }
  });

  it('leaves Object.prototype untouched after every __proto__ / constructor key the fuzzers sent', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  });

  // Deep JSON once overflowed the validation pipe's stack (a 500); bodies nested deeper than any DTO
  // are now refused before validation. The fuzzers above stay below MAX_FUZZ_DEPTH to reach the DTOs.
  it('answers a 400 { code, message }, not a 500, to a body nested 5,000 levels deep', async () => {
    expect(MAX_FUZZ_DEPTH).toBeLessThan(5_000);
    const deep = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;
    const op = operations.find((o) => o.method === 'POST' && o.path === '/users') as Operation;
    const token = await tokenForOperation(op);
    for (const raw of [deep(5_000), `{"name":"deep","roles":${deep(5_000)}}`]) {
      const before = await snapshot();
      const result = await call('POST', '/users', token, raw);
      expect(result.status).toBe(400);
      assertSafeAnswer(`POST /users nested 5000 deep`, result, await persistedChanges(before));
    }
  });

  it(
    'answers hostile values in every query parameter (and unknown ones) without a 5xx or a leak',
    async () => {
      const targets = operations.filter((op) => op.parameters.some((p) => p.in === 'query'));
      let calls = 0;
      for (const op of targets) {
        const token = await tokenForOperation(op);
        const names = op.parameters.filter((p) => p.in === 'query').map((p) => p.name);
        const label = `${op.method} ${op.path} (FUZZ_SEED=${SEED})`;
        const queryArb = fc
          .tuple(
            ...names.map((n) => fc.option(hostileQueryValue, { nil: undefined, freq: 4 }).map((v) => [n, v] as const)),
            fc.option(fc.tuple(fc.constantFrom('__proto__', 'constructor[prototype]', 'x'), hostileQueryValue), { nil: undefined }),
          )
          .map((parts) => {
            const extra = parts.pop() as [string, string | string[]] | undefined;
            const entries = (parts as Array<readonly [string, string | string[] | undefined]>).filter(
              (e): e is readonly [string, string | string[]] => e[1] !== undefined,
            );
            return Object.fromEntries(extra ? [...entries, extra] : entries) as Record<string, string | string[]>;
          });
        // Multipart routes are only fuzzed through their query; the body stays empty JSON.
        const body = op.method === 'GET' || op.method === 'DELETE' ? undefined : '{}';
        await fc.assert(
          fc.asyncProperty(pathParamArb(op), queryArb, async (params, query) => {
            const before = await snapshot();
            const url = `${fillPath(op.path, params)}${queryString(query)}`;
            const result = await call(op.method, url, token, body);
            calls++;
            assertSafeAnswer(`${label} url=${url.slice(0, 300)}`, result, result.status >= 400 ? await persistedChanges(before) : {});
          }),
          { seed: SEED, numRuns: QUERY_RUNS, endOnFailure: true },
        );
      }
      expect(calls).toBe(targets.length * QUERY_RUNS);
    },
    FUZZ_DEADLINE_MS,
  );
});
