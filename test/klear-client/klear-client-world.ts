import { Writable } from 'node:stream';
import { createLogger } from '@app/logging';
import { KlearClient, type KlearClientOptions } from '@app/klear-client';
import { ADMIN_TOKEN_HEADER, type RunningKlearSimulator, type SimulatorOptions, startKlearSimulator } from '@apps/klear-sim';

/** Every line the client logged, as written (after the logger's redaction). */
export class CapturedLogs {
  readonly lines: string[] = [];
  readonly logger = createLogger(
    'klear-client-test',
    'debug',
    new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        this.lines.push(chunk.toString('utf8'));
        done();
      },
    }),
  );

  get text(): string {
    return this.lines.join('');
  }
}

/** A small, deterministic simulator world on a free port, rate limit off unless asked. */
export function startSmallSimulator(options: Partial<SimulatorOptions> = {}): Promise<RunningKlearSimulator> {
  return startKlearSimulator({
    port: 0,
    rateLimit: false,
    seed: 7,
    subtraders: 5,
    markets: 4,
    days: 12,
    withdrawalFailureRate: 0,
    ...options,
  });
}

export function bearerClient(sim: RunningKlearSimulator, options: Partial<KlearClientOptions> = {}): KlearClient {
  return new KlearClient({
    baseUrl: sim.url,
    credentials: { mode: 'bearer', adminUserId: sim.options.adminUserId, accessToken: sim.options.accessToken },
    tier: 'prime',
    timeoutMs: 2000,
    maxRetries: 3,
    retryInitialDelayMs: 10,
    retryMaxDelayMs: 50,
    ...options,
  });
}

export function sessionClient(sim: RunningKlearSimulator, options: Partial<KlearClientOptions> = {}): KlearClient {
  return bearerClient(sim, {
    credentials: { mode: 'session', email: sim.options.email, password: sim.options.password, mfaCode: sim.options.mfaCode || undefined },
    ...options,
  });
}

/** Calls the simulator's /__sim admin path. */
export async function simAdmin(sim: RunningKlearSimulator, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${sim.adminUrl}${path}`, {
    method,
    headers: { [ADMIN_TOKEN_HEADER]: sim.options.adminToken, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`admin ${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

/** Requests the simulator received per API path (every arrival, faulted or not). */
export async function requestCount(sim: RunningKlearSimulator, path: string): Promise<number> {
  const counters = await simAdmin(sim, 'GET', '/counters');
  return (counters.requests_by_endpoint as Record<string, number>)[path] ?? 0;
}

export async function injectFaults(sim: RunningKlearSimulator, rules: unknown[]): Promise<void> {
  await simAdmin(sim, 'PUT', '/faults', { rules });
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}
