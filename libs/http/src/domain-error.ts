/**
 * A business error with a stable code, mapped to the API's error shape by the global filter.
 * Domain code throws these (or subclasses); it never builds HTTP responses itself.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429 | 503,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFound extends DomainError {
  constructor(what: string, id: string) {
    super('NOT_FOUND', 404, `${what} ${id} does not exist`);
  }
}

export class Conflict extends DomainError {
  constructor(code: string, message: string, details?: unknown) {
    super(code, 409, message, details);
  }
}

export class BusinessRuleViolation extends DomainError {
  constructor(code: string, message: string, details?: unknown) {
    super(code, 422, message, details);
  }
}

export class InvalidInput extends DomainError {
  constructor(message: string, details?: unknown, code = 'VALIDATION_FAILED') {
    super(code, 400, message, details);
  }
}

/** 429: the caller is throttled; `retryAfterSeconds` goes into the Retry-After header. */
export class TooManyRequests extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    code = 'TOO_MANY_REQUESTS',
  ) {
    super(code, 429, message, { retry_after_seconds: retryAfterSeconds });
  }
}
