import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KlearEndpointKind, KlearEndpointName } from '@app/klear-contract';
import { KLEAR_API_BASE_PATH, findEndpoint, logInRequestSchema, parseKlearJson } from '@app/klear-contract';
import { handleAdminRequest } from './admin-routes';
import { bufferBalance } from './buffer';
import type { FaultDecision } from './faults';
import type { SimResponse } from './http-io';
import { BadRequest, errorResponse, jsonResponse, readBody, sendResponse } from './http-io';
import { KLEAR_HANDLERS } from './klear-routes';
import type { SimulatorOptions } from './options';
import { resolveOptions } from './options';
import { REPORT_FILE_PATH, isReportType, reportCsvChunks, reportCycle, verifyReportUrl } from './reports';
import { SimulatorContext } from './simulator-context';

export interface RunningKlearSimulator {
  /** Origin, e.g. http://127.0.0.1:4010 */
  origin: string;
  /** Klear base URL: `${origin}/klear-api/v1` */
  url: string;
  adminUrl: string;
  options: SimulatorOptions;
  context: SimulatorContext;
  close(): Promise<void>;
}

const TERMINAL_STATUS_CODES: Record<number, string> = {
  500: 'internal_error',
  502: 'bad_gateway',
  503: 'service_unavailable',
  504: 'gateway_timeout',
};

async function handleKlear(ctx: SimulatorContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const path = url.pathname.slice(KLEAR_API_BASE_PATH.length);
  const found = findEndpoint(req.method ?? 'GET', path);
  // The session login was removed upstream: 404 unless the legacy mode is switched on.
  if (found === undefined || (found.endpoint.legacy && !ctx.options.legacySessionLogin)) {
    await sendResponse(res, errorResponse(404, 'not_found', 'no such endpoint'));
    return;
  }
  ctx.counters.requestsByEndpoint[path] = (ctx.counters.requestsByEndpoint[path] ?? 0) + 1;
  const decision = ctx.faults.decide(path, url.searchParams.has('cursor'));
  if (decision.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, decision.latencyMs));
  if (decision.hold?.phase === 'before') await ctx.holds.hold(path, 'before');
  const terminal = decision.terminal;
  const faultResponse = (): SimResponse | 'timeout' | undefined => {
    if (terminal === undefined || terminal.kind === 'connection_reset') return undefined;
    if (terminal.kind === 'timeout') return 'timeout';
    if (terminal.kind === 'rate_limit_burst') {
      return errorResponse(429, 'rate_limited', 'too many requests', { 'retry-after': String(terminal.retry_after_seconds) });
    }
    return errorResponse(terminal.status, TERMINAL_STATUS_CODES[terminal.status], 'injected gateway or server error');
  };
  if (terminal !== undefined && terminal.phase === 'before') {
    const early = faultResponse();
    if (early === 'timeout') return; // accepted, never answered
    if (early !== undefined) {
      await sendResponse(res, early);
      return;
    }
  }
  let response: SimResponse;
  try {
    const body = req.method === 'POST' || req.method === 'PUT' ? await readBody(req) : '';
    response = answerKlear(ctx, req, url, found.name, found.endpoint.kind, found.pathParams, body, decision);
  } catch (error) {
    if (!(error instanceof BadRequest)) throw error;
    response = errorResponse(error.status, error.code, error.message);
  }
  if (decision.hold?.phase === 'after') await ctx.holds.hold(path, 'after');
  if (terminal !== undefined && terminal.phase === 'after') {
    const late = faultResponse();
    if (late === 'timeout') return;
    if (late !== undefined) response = late;
  }
  // The answer as the API gives it (a reset mid-body is the network's doing, not the API's).
  const recorder = found.endpoint.legacy ? undefined : ctx.conformance;
  if (recorder === undefined) {
    await sendResponse(res, response, terminal?.kind === 'connection_reset');
    return;
  }
  const teed = recorder.tee(response.body);
  await sendResponse(res, { ...response, body: teed.body }, terminal?.kind === 'connection_reset');
  // Validated after the answer is out, so that a large body's check never delays the client.
  if (terminal?.kind !== 'connection_reset' && res.writableFinished)
    setImmediate(() => recorder.check(req.method ?? 'GET', path, response.status, teed.text()));
}

function answerKlear(
  ctx: SimulatorContext,
  req: IncomingMessage,
  url: URL,
  name: KlearEndpointName,
  kind: KlearEndpointKind,
  pathParams: Record<string, string>,
  body: string,
  faults: FaultDecision,
): SimResponse {
  if (ctx.options.rateLimit) {
    const retryAfter = ctx.rateLimiter.take(kind);
    if (retryAfter > 0) return errorResponse(429, 'rate_limited', 'rate limit exceeded', { 'retry-after': String(retryAfter) });
  }
  if (name === 'logIn') {
    let parsed;
    try {
      parsed = logInRequestSchema.safeParse(parseKlearJson(body));
    } catch {
      throw new BadRequest('invalid_parameter', 'body must be JSON');
    }
    if (!parsed.success) throw new BadRequest('invalid_parameter', 'email and password are required');
    const cookie = ctx.auth.logIn(parsed.data.email, parsed.data.password, parsed.data.code);
    if (cookie === undefined) return errorResponse(401, 'unauthorized', 'invalid credentials');
    return jsonResponse(200, { user_id: ctx.options.adminUserId }, { 'set-cookie': cookie });
  }
  const auth = ctx.auth.authenticate(req);
  if (!auth.ok) return errorResponse(auth.status, auth.status === 401 ? 'unauthorized' : 'forbidden', auth.message);
  return KLEAR_HANDLERS[name](ctx, { req, query: url.searchParams, pathParams, body, faults });
}

async function handleReportFile(ctx: SimulatorContext, res: ServerResponse, url: URL): Promise<void> {
  const match = REPORT_FILE_PATH.exec(url.pathname);
  const now = ctx.state.now();
  if (match === null || !isReportType(match[2]) || !verifyReportUrl(ctx.state, url.pathname, url.searchParams, now)) {
    await sendResponse(res, errorResponse(403, 'forbidden', 'signature invalid or expired'));
    return;
  }
  const cycle = reportCycle(ctx.state, match[1], now);
  if (cycle === undefined) {
    await sendResponse(res, errorResponse(404, 'not_found', 'no report for that date'));
    return;
  }
  await sendResponse(res, {
    status: 200,
    contentType: 'text/csv; charset=utf-8',
    body: reportCsvChunks(ctx.state, match[1], match[2], cycle),
  });
}

async function route(ctx: SimulatorContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://sim.invalid');
  if (url.pathname.startsWith(`${KLEAR_API_BASE_PATH}/`)) return handleKlear(ctx, req, res, url);
  if (url.pathname.startsWith('/__sim/')) return sendResponse(res, await handleAdminRequest(ctx, req, url));
  if (url.pathname.startsWith('/__files/')) return handleReportFile(ctx, res, url);
  return sendResponse(res, errorResponse(404, 'not_found', 'not found'));
}

/** Starts the simulator in-process (port 0 picks a free port). */
export async function startKlearSimulator(partial: Partial<SimulatorOptions> = {}): Promise<RunningKlearSimulator> {
  const options = resolveOptions(partial);
  const ctx = new SimulatorContext(options);
  // Every settled cycle's totals, computed once before the first request: the buffer balance sums them
  // all, and computing them inside a request blocks the event loop for seconds on a busy machine (a
  // client in the same process, as in the tests, then sees its own timers fire late: a Klear timeout,
  // a database connect timeout). After this, a request computes at most the cycles settled since.
  bufferBalance(ctx.state, ctx.state.now());
  const server = createServer((req, res) => {
    route(ctx, req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        void sendResponse(res, errorResponse(500, 'internal_error', 'simulator error'));
      } else {
        res.destroy();
      }
      process.emitWarning(`klear-sim: ${(error as Error).stack ?? String(error)}`);
    });
  });
  // Longer than any client's idle keep-alive (undici: 4 s), so a client never reuses a socket the simulator is closing.
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const origin = `http://${host}:${port}`;
  return {
    origin,
    url: `${origin}${KLEAR_API_BASE_PATH}`,
    adminUrl: `${origin}/__sim`,
    options,
    context: ctx,
    close: () =>
      new Promise<void>((resolve) => {
        ctx.conformance?.flush();
        server.close(() => resolve());
        ctx.holds.release();
        server.closeAllConnections(); // also the requests a timeout fault never answers
      }),
  };
}
