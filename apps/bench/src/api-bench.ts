import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import type { StatementBuffers } from './database-counters';
import type { Measurement } from './results';
import { startApiProcess } from './api-process';
import { systemClock } from '@app/clock';

/** Main read routes, tried in this order; those the API does not answer with 200 are left out. */
const CANDIDATE_ROUTES = [
  '/obligations',
  '/settlement/balance',
  '/settlement/balance/history',
  '/subtraders',
  '/reconciliations',
  '/ledger/entries',
  '/withdrawals',
  '/audit',
];

/** Requests a route's buffers are counted over (after one uncounted request that prepares its statements). */
const BUFFER_REQUESTS = 10;

/** Issue 18: a route's p99 at most 3x the p99 of GET /health/live in the same run on the same data. */
export const P99_RATIO_TARGET = 3;

/**
 * p99 latency of each main read route under the same fixed load as `GET /health/live` (the floor:
 * the framework, auth-free and database-free), the API running as its own process on the bench database.
 */
export async function benchApiLatency(
  databaseUrl: string,
  options: {
    connections: number;
    durationSeconds: number;
    /**
     * Times each route is measured, each time right after a measurement of the floor: the route's
     * figure is the pair with the median ratio (see below).
     */
    rounds: number;
    /**
     * Counts the database's shared buffers touched while `work` runs (undefined: not countable here).
     * Given, each route's buffers are measured on the page the latency is measured on (its default
     * page), per row the request read (the page's rows and its next-page probe): the figure that grows
     * if the route reads history, and not as its pages fill up (issue 18).
     */
    countBuffers?: (work: () => Promise<void>) => Promise<{ buffers: number; statements: StatementBuffers[] } | undefined>;
  },
): Promise<{
  rows: Measurement[];
  absent: string[];
  bytes: Record<string, number>;
  buffers: Record<string, number>;
  /** Each route's statements with their buffers over the counted requests (the heaviest first). */
  statements: Record<string, StatementBuffers[]>;
}> {
  // The API as deployed, its own process (api-process.ts). Latency, not the per-user limit of expensive
  // routes (GET /audit is one), is measured here.
  const api = await startApiProcess({ databaseUrl, env: { API_EXPENSIVE_ROUTE_LIMIT: '100000000' } });
  try {
    const token = await api.serviceToken(`bench-reader-${systemClock.nowMs()}`, ['viewer', 'operator']);
    const origin = api.origin;
    const headers = { authorization: `Bearer ${token}` };

    const routes: string[] = [];
    const absent: string[] = [];
    // The size of each route's answer (what a page carries grows with history until the page is full).
    const bytes: Record<string, number> = {};
    for (const path of CANDIDATE_ROUTES) {
      const response = await fetch(origin + path, { headers });
      const body = await response.arrayBuffer();
      bytes[path] = body.byteLength;
      (response.status === 200 ? routes : absent).push(path);
      if (path === '/audit' && response.status === 200) assertSignedChainVerifies(body);
    }
    const breaks = await breaksRoute(origin, headers);
    if (breaks) routes.push(breaks);
    else absent.push('/reconciliations/{id}/breaks');

    const buffers: Record<string, number> = {};
    const statements: Record<string, StatementBuffers[]> = {};
    if (options.countBuffers) {
      for (const path of routes) {
        // Rows the route read for its answer: the page's rows and, when there is a next page, the probe row
        // that told it so (a page of 50 asks for 51); a single object is one row.
        let rowsRead = 0;
        const ask = async () => {
          const response = await fetch(origin + path, { headers });
          if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}`);
          const body = (await response.json()) as { data?: unknown; next_cursor?: unknown };
          rowsRead += Array.isArray(body.data) ? body.data.length + (body.next_cursor ? 1 : 0) : 1;
        };
        await ask();
        rowsRead = 0;
        const counted = await options.countBuffers(async () => {
          for (let i = 0; i < BUFFER_REQUESTS; i++) await ask();
        });
        if (counted !== undefined) {
          // Per row read (at least one: an empty page still looks): on day 1 a route may have one row where
          // later days have a full page and its probe, which is the page filling, not the route reading
          // history. A page's fixed cost (an index descent per table it reads) is spread over its rows.
          buffers[routeLabel(path)] = counted.buffers / Math.max(rowsRead, BUFFER_REQUESTS);
          statements[routeLabel(path)] = counted.statements;
        }
      }
    }

    const load = async (path: string) => {
      const result = await loadInChildProcess({
        url: origin + path,
        connections: options.connections,
        duration: options.durationSeconds,
        headers,
      });
      if (result.non2xx > 0 || result.errors > 0)
        throw new Error(`GET ${path}: ${result.non2xx} non-2xx answers, ${result.errors} errors under load`);
      return result.latency.p99;
    };
    await load('/health/live'); // warm-up: JIT and connection pool
    // Each route against a floor measured just before it (not one floor for the whole series: on a shared
    // machine the load moves within the minutes the routes take, and a floor taken at a quiet moment
    // made every later route look slow, or the reverse). Over several rounds the reported pair is the one
    // with the median ratio: one disturbed pair, on either side, does not make the figure.
    const pairs = new Map<string, PairedP99[]>(routes.map((path) => [path, []]));
    for (let round = 0; round < options.rounds; round++) {
      for (const path of routes) {
        const floor = await load('/health/live');
        pairs.get(path)!.push({ p99: await load(path), floor });
      }
    }
    const rows: Measurement[] = routes.map((path) => {
      const { p99, floor } = medianPair(pairs.get(path)!);
      return {
        name: `api p99: ${routeLabel(path)} (${options.connections} conn)`,
        value: p99,
        unit: 'ms',
        floor,
        ratio: p99 / Math.max(floor, 1),
        target: { on: 'ratio', op: '<=', limit: P99_RATIO_TARGET },
      };
    });
    return { rows, absent, bytes, buffers, statements };
  } finally {
    await api.stop();
  }
}

export interface PairedP99 {
  /** The route's p99 (ms). */
  p99: number;
  /** `GET /health/live`'s p99 (ms), measured just before it. */
  floor: number;
}

/** The pair whose ratio is the median of the pairs' (the lower middle one of an even count). */
export function medianPair(pairs: PairedP99[]): PairedP99 {
  if (pairs.length === 0) throw new Error('no measurement to take the median of');
  const ratio = (x: PairedP99) => x.p99 / Math.max(x.floor, 1);
  const sorted = [...pairs].sort((a, b) => ratio(a) - ratio(b));
  return sorted[(sorted.length - 1) >> 1];
}

/** "/reconciliations/42/breaks?subtrader=ST-1" -> "GET /reconciliations/{id}/breaks". */
function routeLabel(path: string): string {
  return `GET ${path.replace(/\?.*$/, '').replace(/\/reconciliations\/[^/]+\//, '/reconciliations/{id}/')}`;
}

/** The break list of the first reconciliation with breaks, for one subtrader, when the API has them. */
async function breaksRoute(origin: string, headers: Record<string, string>): Promise<string | undefined> {
  const list = await fetch(`${origin}/reconciliations`, { headers });
  if (list.status !== 200) return undefined;
  const body = (await list.json()) as { data?: Array<{ id?: string }> };
  const id = body.data?.[0]?.id;
  if (!id) return undefined;
  const breaks = await fetch(`${origin}/reconciliations/${id}/breaks`, { headers });
  if (breaks.status !== 200) return undefined;
  const first = ((await breaks.json()) as { data?: Array<{ subtrader_id?: string }> }).data?.[0]?.subtrader_id;
  return first ? `/reconciliations/${id}/breaks?subtrader=${encodeURIComponent(first)}` : `/reconciliations/${id}/breaks`;
}

interface LoadResult {
  latency: { p99: number };
  non2xx: number;
  errors: number;
}

// autocannon runs in its own process: on the API's event loop it would slow the very thing it
// measures, and inside a worker thread it switches to its own worker protocol.
const LOAD_SCRIPT = `
const { module, options } = JSON.parse(process.argv[1]);
require(module)(options, (e, r) => process.stdout.write(JSON.stringify(
  e ? { error: String((e && e.message) || e) } : { latency: { p99: r.latency.p99 }, non2xx: r.non2xx, errors: r.errors },
)));
`;

/**
 * `GET /audit` is measured walking a chain that verifies, every row's MAC checked, as in production: a
 * chain broken by an unsigned writer would stop the walk early and time a cheaper request (bench-key.ts).
 */
function assertSignedChainVerifies(body: ArrayBuffer): void {
  const { chain } = JSON.parse(Buffer.from(body).toString('utf8')) as {
    chain: { ok: boolean; problem: string | null; macs: { checked: boolean; valid: number } };
  };
  if (!chain.ok || !chain.macs.checked || chain.macs.valid === 0)
    throw new Error(`the bench's audit chain is not a signed chain that verifies: ${JSON.stringify(chain)}`);
}

function loadInChildProcess(options: {
  url: string;
  connections: number;
  duration: number;
  headers: Record<string, string>;
}): Promise<LoadResult> {
  const module = createRequire(import.meta.url).resolve('autocannon');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-e', LOAD_SCRIPT, JSON.stringify({ module, options })],
      { timeout: (options.duration + 30) * 1000 },
      (error, stdout) => {
        if (error) return reject(error);
        const message = JSON.parse(stdout) as LoadResult & { error?: string };
        if (message.error) reject(new Error(message.error));
        else if (typeof message.latency?.p99 !== 'number') reject(new Error('autocannon answered no p99'));
        else resolve(message);
      },
    );
  });
}
