import { observeKlearRequest } from './klear-request-observers';
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  DelegateBackoff,
  ExponentialBackoff,
  type IBackoff,
  type IRetryBackoffContext,
  IsolatedCircuitError,
  type RetryPolicy,
  circuitBreaker,
  handleWhen,
  retry,
} from 'cockatiel';
import { ENDPOINTS, type KlearEndpointKind, klearErrorSchema, parseKlearJson, stringifyKlearJson } from '@app/klear-contract';
import { type KlearCredentials, type KlearCredentialsSource, credentialSecrets } from './klear-credentials';
import {
  KlearAuthError,
  KlearCircuitOpenError,
  KlearHttpError,
  KlearWriteNotSentError,
  isKlearOutageError,
  isRetryableKlearError,
} from './klear-errors';
import { KlearRateLimiter } from './klear-rate-limiter';
import { KlearSession, cookieHeaderFrom } from './klear-session';
import { type KlearExchange, type KlearExchangeRequest, exchange } from './klear-transport';
import { parseRetryAfterMs } from './retry-after';
import { SecretRedactor } from './secret-redactor';
import { type LimiterClock, RateLimitWaitExceeded, systemClock as limiterSystemClock } from './token-bucket';

/** The subset of a pino logger the client uses. */
export interface KlearClientLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface KlearClientOptions {
  /** `https://api.klear.kalshi.com/klear-api/v1` */
  baseUrl: string;
  credentials: KlearCredentialsSource;
  tier: 'basic' | 'advanced' | 'premier' | 'prime';
  /** Share of the member's rate limit this process may use (see KlearRateLimiter). Default 1. */
  rateShare?: number;
  /** Fraction of the limit actually used, against jitter. Default 0.95. */
  rateHeadroom?: number;
  timeoutMs: number;
  /** Retries of an idempotent read (the first attempt is not counted). */
  maxRetries: number;
  /** First backoff delay; later ones grow exponentially with decorrelated jitter. Default 200 ms. */
  retryInitialDelayMs?: number;
  retryMaxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the 429 is thrown. Default 60 s. */
  maxRetryAfterMs?: number;
  /** Consecutive outage failures (5xx, timeout, reset) that open the circuit. Default 5. */
  breakerThreshold?: number;
  /** Time the circuit stays open before one trial request. Default 30 s. */
  breakerHalfOpenAfterMs?: number;
  clock?: LimiterClock;
  logger?: KlearClientLogger;
  /** Hosts presigned report URLs may point at besides KLEAR_BASE_URL's (KLEAR_REPORT_HOSTS). */
  reportHosts?: string[];
  /** Report files larger than this are refused (KLEAR_REPORT_MAX_BYTES). */
  reportMaxBytes?: number;
  /**
   * An API answer's body larger than this is spooled to a temporary file instead of memory, and read
   * from there as a stream (KLEAR_MAX_BUFFER_BYTES). None: every body is held in memory.
   */
  maxBufferBytes?: number;
  /** Where bodies past maxBufferBytes are spooled (KLEAR_SPOOL_DIR); default the OS temp directory. */
  spoolDir?: string;
  fetch?: typeof fetch;
}

export interface KlearCall {
  /** The rate-limit bucket; none for report files (presigned storage, not the Klear API). */
  kind: KlearEndpointKind | undefined;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  /** `GET /margin/reports`: what logs and errors may show. */
  endpoint: string;
  body?: string;
  /** Report files are presigned: Klear's credentials are not sent to them. */
  authenticated: boolean;
  /** Report files: the size cap, and the file the body streams to. */
  maxBodyBytes?: number;
  openSink?: KlearExchangeRequest['openSink'];
}

/**
 * What a caller that must not send late (the withdrawal POST) asks of the pipeline: every wait
 * (credentials, login, the rate limit, bounded by `maxWaitMs`) happens first; then `beforeSend` runs
 * (the caller records "posting now", fenced); then the request leaves at once, never retried, never
 * re-sent after a 401. If `beforeSend` throws, nothing is sent (KlearWriteNotSentError).
 */
export interface SendGuard {
  maxWaitMs: number;
  beforeSend(): Promise<void>;
  /** Told when the rate limit makes the call wait (before beforeSend), with the wait in ms. */
  onWait?(waitMs: number): void;
}

/** A report file's presigned path would make one series per file: metrics name them all alike. */
const metricEndpoint = (call: KlearCall) => (!call.authenticated && call.method === 'GET' ? 'GET (margin report file)' : call.endpoint);

const silentLogger: KlearClientLogger = { info: () => undefined, warn: () => undefined };

/**
 * Sends calls to Klear: rate limit, authentication (bearer, or session with one re-login on 401),
 * per-request timeout, the circuit breaker, and retries for idempotent calls only.
 */
export class KlearHttpPipeline {
  readonly redactor = new SecretRedactor();
  readonly limiter: KlearRateLimiter;
  private readonly logger: KlearClientLogger;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly readRetry: RetryPolicy;
  private credentials: Promise<KlearCredentials> | undefined;
  /** Retry-After dates and the time an answer was received are read from the client's clock. */
  private readonly clock: LimiterClock;
  private session: KlearSession | undefined;

  constructor(private readonly options: KlearClientOptions) {
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? limiterSystemClock;
    this.limiter = new KlearRateLimiter({
      tier: options.tier,
      share: options.rateShare,
      headroom: options.rateHeadroom,
      clock: options.clock,
    });
    if (typeof options.credentials !== 'function') this.redactor.add(...credentialSecrets(options.credentials));

    this.breaker = circuitBreaker(handleWhen(isKlearOutageError), {
      halfOpenAfter: options.breakerHalfOpenAfterMs ?? 30_000,
      breaker: new ConsecutiveBreaker(options.breakerThreshold ?? 5),
    });
    this.breaker.onBreak(() => this.logger.warn({ circuit: 'open' }, 'klear circuit opened after consecutive failures'));
    this.breaker.onReset(() => this.logger.info({ circuit: 'closed' }, 'klear circuit closed'));

    const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
    const exponential = new ExponentialBackoff({
      initialDelay: options.retryInitialDelayMs ?? 200,
      maxDelay: options.retryMaxDelayMs ?? 10_000,
    });
    this.readRetry = retry(
      handleWhen((error) => isRetryableKlearError(error) && !((error as KlearHttpError).retryAfterMs! > maxRetryAfterMs)),
      {
        maxAttempts: options.maxRetries,
        backoff: new DelegateBackoff<IRetryBackoffContext<unknown>, IBackoff<unknown> | undefined>((context, previous) => {
          const next = previous ? previous.next(context) : exponential.next();
          const error = 'error' in context.result ? context.result.error : undefined;
          const asked = error instanceof KlearHttpError ? error.retryAfterMs : undefined;
          return { delay: asked ?? next.duration, state: next };
        }),
      },
    );
    this.readRetry.onRetry((event) => {
      const error = 'error' in event ? event.error : undefined;
      this.logger.warn(
        {
          endpoint: (error as { endpoint?: string })?.endpoint,
          attempt: event.attempt,
          delayMs: Math.round(event.delay),
          reason: (error as { code?: string })?.code,
          status: (error as { status?: number })?.status,
        },
        'klear call failed, retrying',
      );
    });
  }

  get circuitState(): 'closed' | 'open' | 'half_open' | 'isolated' {
    return (['closed', 'open', 'half_open', 'isolated'] as const)[this.breaker.state as CircuitState];
  }

  /** An idempotent call: retried on 429, 5xx, timeouts and resets, with backoff and jitter. */
  sendIdempotent(call: KlearCall): Promise<KlearExchange> {
    return this.readRetry.execute(() => this.sendOnce(call));
  }

  /** One attempt through the circuit breaker, never retried (writes without idempotency key). */
  async sendOnce(call: KlearCall): Promise<KlearExchange> {
    try {
      return await this.breaker.execute(() => this.attempt(call));
    } catch (error) {
      if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) throw new KlearCircuitOpenError(call.endpoint);
      throw error;
    }
  }

  /** One guarded write (see SendGuard): nothing may delay it once `beforeSend` has recorded it. */
  async sendGuarded(call: KlearCall, guard: SendGuard): Promise<KlearExchange> {
    if (this.breaker.state === CircuitState.Open || this.breaker.state === CircuitState.Isolated)
      throw new KlearCircuitOpenError(call.endpoint);
    const headers = call.authenticated ? await this.authHeaders() : {};
    if (call.kind) {
      try {
        await this.limiter.take(call.kind, { maxWaitMs: guard.maxWaitMs, onWait: guard.onWait });
      } catch (error) {
        if (error instanceof RateLimitWaitExceeded) throw new KlearWriteNotSentError(call.endpoint, 'rate_limit_wait', error.message);
        throw error;
      }
    }
    try {
      await guard.beforeSend();
    } catch (error) {
      throw new KlearWriteNotSentError(call.endpoint, 'before_send_refused', error instanceof Error ? error.message : String(error), {
        cause: error,
      });
    }
    try {
      return await this.breaker.execute(async () => this.checkStatus(call, await this.exchangeOnce(call, headers, false)));
    } catch (error) {
      if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) throw new KlearCircuitOpenError(call.endpoint);
      throw error;
    }
  }

  /** The authentication headers of a call, logging in first in session mode (no request is sent). */
  private async authHeaders(): Promise<Record<string, string>> {
    const credentials = await this.resolveCredentials();
    if (credentials.mode === 'bearer') return { authorization: `Bearer ${credentials.adminUserId}:${credentials.accessToken}` };
    return { cookie: await this.sessionFor(credentials).current() };
  }

  private async attempt(call: KlearCall): Promise<KlearExchange> {
    if (!call.authenticated) return this.checkStatus(call, await this.exchangeOnce(call, {}));
    const credentials = await this.resolveCredentials();
    if (credentials.mode === 'bearer') {
      const authorization = `Bearer ${credentials.adminUserId}:${credentials.accessToken}`;
      return this.checkStatus(call, await this.exchangeOnce(call, { authorization }));
    }
    const session = this.sessionFor(credentials);
    const cookie = await session.current();
    let answer = await this.exchangeOnce(call, { cookie });
    if (answer.status === 401) {
      this.logger.info({ endpoint: call.endpoint }, 'klear session expired, logging in again');
      answer = await this.exchangeOnce(call, { cookie: await session.renew(cookie) });
    }
    return this.checkStatus(call, answer);
  }

  private async exchangeOnce(call: KlearCall, headers: Record<string, string>, limited = true): Promise<KlearExchange> {
    if (call.kind && limited) await this.limiter.take(call.kind);
    const started = performance.now();
    const answer = await exchange(
      {
        method: call.method,
        url: call.url,
        endpoint: call.endpoint,
        timeoutMs: this.options.timeoutMs,
        body: call.body,
        maxBodyBytes: call.maxBodyBytes,
        openSink: call.openSink,
        // Report files have their own cap and sink; API reads past the buffer cap go to a spool file.
        maxBufferBytes: call.authenticated && call.method === 'GET' ? this.options.maxBufferBytes : undefined,
        spoolDir: this.options.spoolDir,
        headers: { accept: 'application/json', ...(call.body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      },
      this.options.fetch,
      () => this.clock.now(),
    ).catch((error: unknown) => {
      observeKlearRequest({
        endpoint: metricEndpoint(call),
        method: call.method,
        status: 'error',
        seconds: (performance.now() - started) / 1000,
      });
      throw error;
    });
    observeKlearRequest({
      endpoint: metricEndpoint(call),
      method: call.method,
      status: answer.status,
      seconds: (performance.now() - started) / 1000,
    });
    if (answer.status === 429) {
      const waitMs = parseRetryAfterMs(answer.headers.get('retry-after'), this.clock.now());
      if (waitMs !== undefined && call.kind) this.limiter.pause(call.kind, this.clock.now() + waitMs);
    }
    return answer;
  }

  /** Turns an error status into a typed error carrying Klear's code and message (scrubbed). */
  private checkStatus(call: KlearCall, answer: KlearExchange): KlearExchange {
    if (answer.status < 400) return answer;
    let klearCode: string | undefined;
    let klearMessage: string | undefined;
    try {
      const parsed = klearErrorSchema.safeParse(parseKlearJson(answer.body.toString('utf8')));
      if (parsed.success) {
        klearCode = this.redactor.redact(parsed.data.code).slice(0, 100);
        klearMessage = this.redactor.redact(parsed.data.message).slice(0, 300);
      }
    } catch {
      // A gateway's HTML error page: the status alone says enough.
    }
    const retryAfterMs = parseRetryAfterMs(answer.headers.get('retry-after'), this.clock.now());
    const ErrorType = answer.status === 401 || answer.status === 403 ? KlearAuthError : KlearHttpError;
    throw new ErrorType(call.endpoint, answer.status, klearCode, klearMessage, retryAfterMs);
  }

  private resolveCredentials(): Promise<KlearCredentials> {
    const source = this.options.credentials;
    this.credentials ??= (typeof source === 'function' ? source() : Promise.resolve(source)).then(
      (credentials) => {
        this.redactor.add(...credentialSecrets(credentials));
        return credentials;
      },
      (error: unknown) => {
        this.credentials = undefined;
        throw error;
      },
    );
    return this.credentials;
  }

  private sessionFor(credentials: Extract<KlearCredentials, { mode: 'session' }>): KlearSession {
    this.session ??= new KlearSession(() => this.logIn(credentials));
    return this.session;
  }

  /** POST /log_in; the session is the Set-Cookie of the answer. */
  private async logIn(credentials: Extract<KlearCredentials, { mode: 'session' }>): Promise<string> {
    const { method, path, kind } = ENDPOINTS.logIn;
    const call: KlearCall = {
      kind,
      method,
      url: `${this.options.baseUrl}${path}`,
      endpoint: `${method} ${path}`,
      authenticated: false,
      body: stringifyKlearJson({ email: credentials.email, password: credentials.password, code: credentials.mfaCode || undefined }),
    };
    const answer = this.checkStatus(call, await this.exchangeOnce(call, {}));
    const cookie = cookieHeaderFrom(answer.headers.getSetCookie());
    if (!cookie) throw new KlearAuthError(call.endpoint, answer.status, 'no_session_cookie', 'the login answer set no cookie', undefined);
    this.redactor.add(...cookie.split('; ').map((pair) => pair.slice(pair.indexOf('=') + 1)), cookie);
    this.logger.info({ endpoint: call.endpoint }, 'logged in to klear');
    return cookie;
  }
}
