import { randomUUID } from 'node:crypto';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DomainError, type ErrorKind, TooManyRequests } from '@app/errors';
import { isDatabaseUnavailable } from '@app/db';
import { scrubSecrets } from '@app/logging';
import type { ErrorBody } from './error-body';

/** The HTTP status of each kind of domain error: the one place a domain failure becomes a status. */
export const KIND_STATUS: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rule_violated: 422,
  throttled: 429,
  unavailable: 503,
};

const STATUS_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

function requestHasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** Turns every error into the ops-api error shape. 500s get an error_id and a log line with the stack. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request | undefined>();
    const { status, body } = this.toBody(exception);
    if (res.headersSent) {
      res.end();
      return;
    }
    if (exception instanceof TooManyRequests) res.setHeader('Retry-After', String(exception.retryAfterSeconds));
    // A refused request whose body was never read (401 before the body, 413, 429): close the
    // connection instead of letting Node drain megabytes nobody will look at.
    if (req && req.complete === false && requestHasBody(req)) res.setHeader('Connection', 'close');
    res.status(status).json(body);
  }

  toBody(exception: unknown): { status: number; body: ErrorBody } {
    if (exception instanceof DomainError) {
      return {
        status: KIND_STATUS[exception.kind],
        body: { code: exception.code, message: exception.message, details: exception.details },
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const cause = exception.cause as { type?: string } | undefined;
      if (status === 400 && (cause?.type === 'entity.parse.failed' || cause instanceof SyntaxError)) {
        return { status, body: { code: 'MALFORMED_JSON', message: 'the request body is not valid JSON' } };
      }
      const response = exception.getResponse();
      if (typeof response === 'object' && response && 'code' in response && 'message' in response) {
        const r = response as { code: string; message: string; details?: unknown };
        return { status, body: { code: r.code, message: r.message, details: r.details } };
      }
      const message = typeof response === 'string' ? response : String((response as { message?: unknown }).message ?? exception.message);
      return { status, body: { code: STATUS_CODES[status] ?? `HTTP_${status}`, message: scrubSecrets(message) } };
    }
    const bodyParser = exception as { type?: string; status?: number; expose?: boolean; message?: string };
    if (typeof bodyParser?.status === 'number' && bodyParser.expose && bodyParser.status < 500) {
      const code = bodyParser.type === 'entity.parse.failed' ? 'MALFORMED_JSON' : (STATUS_CODES[bodyParser.status] ?? 'BAD_REQUEST');
      const message =
        bodyParser.type === 'entity.parse.failed' ? 'the request body is not valid JSON' : (bodyParser.message ?? 'bad request');
      return { status: bodyParser.status, body: { code, message } };
    }
    if (isDatabaseUnavailable(exception)) {
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        body: { code: 'DATABASE_UNAVAILABLE', message: 'the database is unavailable; try again shortly' },
      };
    }
    const errorId = randomUUID();
    const err = exception as Error;
    this.logger.error(
      { error_id: errorId, err: { name: err?.name, message: scrubSecrets(String(err?.message)), stack: scrubSecrets(String(err?.stack)) } },
      'unhandled error',
    );
    return {
      status: 500,
      body: { code: 'INTERNAL_ERROR', message: 'an unexpected error occurred; quote the error_id to support', error_id: errorId },
    };
  }
}
