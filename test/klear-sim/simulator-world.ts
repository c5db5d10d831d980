import { parseKlearJson } from '@app/klear-contract';
import { ADMIN_TOKEN_HEADER, type RunningKlearSimulator, type SimulatorOptions, startKlearSimulator } from '@apps/klear-sim';

/** The simulator's first discrepancy kinds: what a test asking for every kind at once feeds. */
export { FIRST_DISCREPANCY_KINDS } from '@apps/klear-sim';

export interface SimAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed losslessly (integers as bigint). */
  json: unknown;
}

/** A plain HTTP client of an in-process simulator, authenticated with the bearer token by default. */
export class SimulatorWorld {
  private constructor(readonly sim: RunningKlearSimulator) {}

  static async start(options: Partial<SimulatorOptions> = {}): Promise<SimulatorWorld> {
    return new SimulatorWorld(await startKlearSimulator({ port: 0, rateLimit: false, ...options }));
  }

  get bearer(): string {
    return `Bearer ${this.sim.options.adminUserId}:${this.sim.options.accessToken}`;
  }

  async request(
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string>; auth?: boolean } = {},
  ): Promise<SimAnswer> {
    const headers: Record<string, string> = { ...(init.auth === false ? {} : { authorization: this.bearer }), ...init.headers };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.sim.url}${path}`, { method, headers, body: init.body });
    const text = await response.text();
    let json: unknown;
    try {
      json = parseKlearJson(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  get(path: string, headers?: Record<string, string>): Promise<SimAnswer> {
    return this.request('GET', path, { headers });
  }

  post(path: string, body: unknown): Promise<SimAnswer> {
    return this.request('POST', path, { body: JSON.stringify(body) });
  }

  /** Calls the /__sim admin path; JSON answers parsed losslessly. */
  async admin(method: string, path: string, body?: unknown): Promise<any> {
    const response = await fetch(`${this.sim.adminUrl}${path}`, {
      method,
      headers: { [ADMIN_TOKEN_HEADER]: this.sim.options.adminToken, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`admin ${method} ${path}: ${response.status} ${text}`);
    return response.headers.get('content-type')?.startsWith('text/csv') ? text : parseKlearJson(text);
  }

  close(): Promise<void> {
    return this.sim.close();
  }
}

export async function walkPages<T>(
  harness: SimulatorWorld,
  path: string,
  listKey: string,
  limit: number,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const query = `limit=${limit}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const answer = await harness.get(`${path}?${query}`);
    if (answer.status !== 200) throw new Error(`${path}: ${answer.status} ${answer.text}`);
    const body = answer.json as Record<string, unknown>;
    items.push(...(body[listKey] as T[]));
    cursor = body.cursor as string | undefined;
    pages++;
  } while (cursor !== undefined);
  return { items, pages };
}
