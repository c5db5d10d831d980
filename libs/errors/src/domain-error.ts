/**
 * What kind of failure a domain error is, said in the domain's words. The HTTP layer maps each kind to
 * a status (libs/http, ErrorFilter); domain libraries never choose one.
 */
export type ErrorKind =
  /** The input is malformed or names something impossible (HTTP 400). */
  | 'invalid'
  /** Who is calling is not established (401). */
  | 'unauthenticated'
  /** The caller is known and may not do this (403). */
  | 'forbidden'
  /** What the request names does not exist (404). */
  | 'not_found'
  /** The request collides with the current state (409). */
  | 'conflict'
  /** The input is larger than accepted (413). */
  | 'too_large'
  /** Well-formed, but a business rule refuses it (422). */
  | 'rule_violated'
  /** The caller is throttled; retry later (429). */
  | 'throttled'
  /** Something the operation depends on is not available now (503). */
  | 'unavailable';

export const ERROR_KINDS: readonly ErrorKind[] = [
  'invalid',
  'unauthenticated',
  'forbidden',
  'not_found',
  'conflict',
  'too_large',
  'rule_violated',
  'throttled',
  'unavailable',
];

/**
 * A business error with a stable code (SNAKE_CASE, part of the API) and a kind. Domain code throws
 * these (or subclasses); the API's global filter turns them into its error shape.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    readonly kind: ErrorKind,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFound extends DomainError {
  constructor(what: string, id: string) {
    super('NOT_FOUND', 'not_found', `${what} ${id} does not exist`);
  }
}

export class Conflict extends DomainError {
  constructor(code: string, message: string, details?: unknown) {
    super(code, 'conflict', message, details);
  }
}

export class BusinessRuleViolation extends DomainError {
  constructor(code: string, message: string, details?: unknown) {
    super(code, 'rule_violated', message, details);
  }
}

export class InvalidInput extends DomainError {
  constructor(message: string, details?: unknown, code = 'VALIDATION_FAILED') {
    super(code, 'invalid', message, details);
  }
}

/** The caller is throttled; `retryAfterSeconds` says when to try again (the API's Retry-After). */
export class TooManyRequests extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    code = 'TOO_MANY_REQUESTS',
  ) {
    super(code, 'throttled', message, { retry_after_seconds: retryAfterSeconds });
  }
}

/** One invalid field of an input and what is wrong with it (the `details` of an `invalid` error). */
export interface FieldProblem {
  field: string;
  problems: string[];
}
