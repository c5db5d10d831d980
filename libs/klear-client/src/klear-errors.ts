import type { SpooledBody } from './spooled-body';

/**
 * Typed failures of the Klear client. Messages name the endpoint (method and path, never a query
 * string of a presigned URL), the status and Klear's error code; they never carry tokens, passwords,
 * MFA codes, cookies or signatures: the client scrubs every foreign text before it builds one.
 */
export abstract class KlearClientError extends Error {
  /** A stable code for callers and logs. */
  abstract readonly code: string;
  /** `GET /margin/obligation_history` */
  readonly endpoint: string;

  constructor(endpoint: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.endpoint = endpoint;
    this.name = new.target.name;
  }
}

/** Klear (or its gateway) answered with an error status. */
export class KlearHttpError extends KlearClientError {
  readonly code: string = 'klear_http_error';
  constructor(
    endpoint: string,
    readonly status: number,
    /** Klear's error `code`, when the body was Klear's error shape. */
    readonly klearCode: string | undefined,
    /** Klear's error `message` (scrubbed). */
    readonly klearMessage: string | undefined,
    /** Delay asked by `Retry-After`, when present and readable. */
    readonly retryAfterMs: number | undefined,
  ) {
    super(endpoint, `Klear ${endpoint} answered ${status}${klearCode ? ` ${klearCode}` : ''}${klearMessage ? `: ${klearMessage}` : ''}`);
  }
}

/** 401/403, or a rejected login: the credentials are missing, wrong, expired or not permitted. */
export class KlearAuthError extends KlearHttpError {
  override readonly code = 'klear_auth_error';
}

/** An answer larger than the caller allows (report files: KLEAR_REPORT_MAX_BYTES); reading stopped there. */
export class KlearBodyTooLargeError extends KlearClientError {
  readonly code = 'klear_body_too_large';
  constructor(
    endpoint: string,
    readonly maxBytes: number,
  ) {
    super(endpoint, `Klear ${endpoint} answered more than ${maxBytes} bytes; reading stopped`);
  }
}

/** No complete answer within the per-request timeout. */
export class KlearTimeoutError extends KlearClientError {
  readonly code = 'klear_timeout';
  constructor(
    endpoint: string,
    readonly timeoutMs: number,
  ) {
    super(endpoint, `Klear ${endpoint} did not answer within ${timeoutMs} ms`);
  }
}

/** The connection failed or was reset. `requestSent` is false only when no connection was made. */
export class KlearNetworkError extends KlearClientError {
  readonly code = 'klear_network_error';
  constructor(
    endpoint: string,
    readonly networkCode: string,
    readonly requestSent: boolean,
  ) {
    super(endpoint, `Klear ${endpoint} failed on the network (${networkCode})`);
  }
}

/**
 * This process could not keep an answer past the buffer cap on disk (KLEAR_SPOOL_DIR missing and not
 * makeable, full, not writable): a fault here, not Klear's, so never retried nor counted as an outage.
 */
export class KlearSpoolError extends KlearClientError {
  readonly code = 'klear_spool_error';
  constructor(
    endpoint: string,
    readonly fsCode: string,
    options?: { cause?: unknown },
  ) {
    super(endpoint, `the answer of Klear ${endpoint} could not be spooled to KLEAR_SPOOL_DIR (${fsCode})`, options);
  }
}

/** The circuit breaker is open after consecutive failures: the request was not sent. */
export class KlearCircuitOpenError extends KlearClientError {
  readonly code = 'klear_circuit_open';
  constructor(endpoint: string) {
    super(endpoint, `Klear ${endpoint} not sent: the circuit is open after consecutive Klear failures`);
  }
}

/**
 * A write that provably never left this process after its caller asked for it: the rate limit asked
 * for a longer wait than the caller accepts, or the caller's own check right before sending (its
 * fencing record) refused. Nothing reached Klear.
 */
export class KlearWriteNotSentError extends KlearClientError {
  readonly code = 'klear_write_not_sent';
  constructor(
    endpoint: string,
    readonly reason: 'rate_limit_wait' | 'before_send_refused',
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(endpoint, `Klear ${endpoint} not sent (${reason}): ${detail}`, options);
  }
}

export interface SchemaIssue {
  path: string;
  message: string;
}

/**
 * The answer does not match the contract (a field missing or mistyped, or not JSON at all).
 * `rawBody` is kept for diagnosis but is not enumerable, so loggers that dump an error's own
 * properties do not print it (it may hold presigned report URLs).
 */
export class KlearSchemaError extends KlearClientError {
  readonly code = 'klear_schema_error';
  declare readonly rawBody: string;
  /** A body spooled past the buffer cap: the whole body is here (`rawBody` holds the failing item); the catcher closes it. */
  declare readonly rawSpooledBody?: SpooledBody;
  declare readonly rawBodySha256?: string;
  constructor(
    endpoint: string,
    readonly status: number,
    readonly issues: SchemaIssue[],
    rawBody: string,
  ) {
    super(
      endpoint,
      `Klear ${endpoint} answered ${status} with a body that does not match the contract: ${issues
        .slice(0, 5)
        .map((i) => `${i.path || '(body)'}: ${i.message}`)
        .join('; ')}${issues.length > 5 ? ` (+${issues.length - 5} more)` : ''}`,
    );
    Object.defineProperty(this, 'rawBody', { value: rawBody, enumerable: false });
  }
}

export type OutcomeUnknownReason = 'timeout' | 'network' | 'server_error' | 'unreadable_answer';

/**
 * A write whose effect cannot be known: Klear may or may not have acted on it (there is no
 * idempotency key). Never resend blindly: look at balance history, the locked balance and the
 * withdrawals already held first.
 */
export class KlearOutcomeUnknownError extends KlearClientError {
  readonly code = 'klear_outcome_unknown';
  constructor(
    endpoint: string,
    readonly reason: OutcomeUnknownReason,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      endpoint,
      `Klear ${endpoint}: outcome unknown (${detail}); it may or may not have been applied, check before sending it again`,
      options,
    );
  }
}

/** Transient failures worth another attempt of an idempotent read. */
export function isRetryableKlearError(error: unknown): boolean {
  if (error instanceof KlearTimeoutError || error instanceof KlearNetworkError) return true;
  if (error instanceof KlearAuthError) return false;
  return error instanceof KlearHttpError && (error.status === 429 || error.status >= 500);
}

/** Failures that mean Klear is unwell: they count towards opening the circuit (429 and 4xx do not). */
export function isKlearOutageError(error: unknown): boolean {
  if (error instanceof KlearTimeoutError || error instanceof KlearNetworkError) return true;
  return error instanceof KlearHttpError && error.status >= 500;
}
