import type { IncomingMessage, ServerResponse } from 'node:http';
import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor, SetMetadata } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import bodyParser from 'body-parser';
import type { Observable } from 'rxjs';
import { unsafeBodyProblem } from './body-shape';
import { DomainError, InvalidInput } from '@app/errors';

export const BODY_LIMIT_KEY = 'klear:body-limit';

/**
 * Marks a route that takes large JSON bodies (ledger batches of up to 10,000 entries): it gets the
 * large limit (API_BODY_LIMIT_MB); every other route gets the small default (API_DEFAULT_BODY_LIMIT_KB).
 */
export const LargeJsonBody = () => SetMetadata(BODY_LIMIT_KEY, 'large');

export interface JsonBodyLimits {
  defaultBytes: number;
  largeBytes: number;
}

/** What the parser reads (others, such as the multipart upload of an import, are left to their route). */
const JSON_TYPE = /^\s*application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

type Parser = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/** The 413 of a JSON body over its route's limit, naming the limit. */
export class BodyTooLarge extends DomainError {
  constructor(limitBytes: number) {
    super('PAYLOAD_TOO_LARGE', 'too_large', `the JSON body exceeds this route's limit of ${limitBytes} bytes`, { limit_bytes: limitBytes });
  }
}

/**
 * Reads JSON bodies AFTER the guards have run (the application is created with `bodyParser: false`):
 * a caller without a valid credential, or throttled, is answered without a byte of its body being
 * read or buffered. Each route's limit is enforced while reading (at once from Content-Length when
 * declared). Then the parsed body is checked for shapes that are unsafe to validate.
 */
@Injectable()
export class JsonBodyInterceptor implements NestInterceptor {
  private readonly parsers: Record<'default' | 'large', { parse: Parser; limit: number }>;

  constructor(
    private readonly reflector: Reflector,
    limits: JsonBodyLimits,
  ) {
    const parser = (limit: number) => ({
      limit,
      parse: bodyParser.json({ limit, strict: true, type: ['application/json', 'application/*+json'] }) as Parser,
    });
    this.parsers = { default: parser(limits.defaultBytes), large: parser(limits.largeBytes) };
  }

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<IncomingMessage & { body?: unknown }>();
    const res = context.switchToHttp().getResponse<ServerResponse>();
    const size =
      this.reflector.getAllAndOverride<'large' | undefined>(BODY_LIMIT_KEY, [context.getHandler(), context.getClass()]) ?? 'default';
    const { parse, limit } = this.parsers[size];
    // body-parser would read (and discard) a whole oversized body before answering: refuse a
    // declared one at once, unread (the error filter then closes the connection).
    if (JSON_TYPE.test(req.headers['content-type'] ?? '') && Number(req.headers['content-length'] ?? 0) > limit)
      throw new BodyTooLarge(limit);
    await new Promise<void>((resolve, reject) => {
      parse(req, res, (error?: unknown) => {
        if (!error) return resolve();
        if ((error as { type?: string }).type === 'entity.too.large') return reject(new BodyTooLarge(limit));
        reject(error);
      });
    });
    const problem = unsafeBodyProblem(req.body);
    if (problem) throw new InvalidInput(problem);
    return next.handle();
  }
}
