import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Params } from 'nestjs-pino';
import pino, { type Logger, type LoggerOptions } from 'pino';
import { loggableTarget, REDACT_PATHS, scrubSecrets } from './redaction';

function baseOptions(name: string, level: string): LoggerOptions {
  return {
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    formatters: { level: (label) => ({ level: label }) },
    // Error messages can quote URLs or headers: scrub them on the way out.
    serializers: {
      err: (e: Error) => ({ type: e?.name, message: scrubSecrets(String(e?.message)), stack: scrubSecrets(String(e?.stack)) }),
    },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? scrubSecrets(a) : a)) as Parameters<typeof method>);
      },
    },
  };
}

/** A structured JSON logger for code outside Nest (simulator, demo, CLI). */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info', destination?: pino.DestinationStream): Logger {
  return destination ? pino(baseOptions(name, level), destination) : pino(baseOptions(name, level));
}

/** An X-Request-Id a caller may choose: 8-64 characters of letters, digits, `.`, `_`, `:`, `-`. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{8,64}$/;

/** The caller's X-Request-Id when well formed (one header, the pattern above), else a new UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
}

/**
 * nestjs-pino options: one JSON line per request with its id (echoed in X-Request-Id), who called
 * (user and token ids, once authenticated), the path and the query with secret values redacted.
 */
export function httpLoggerParams(name: string, level: string): Params {
  return {
    pinoHttp: {
      ...baseOptions(name, level),
      genReqId: (req: IncomingMessage, res) => {
        const id = requestIdOf(req);
        res.setHeader('X-Request-Id', id);
        return id;
      },
      customProps: (req: IncomingMessage) => {
        const principal = (req as IncomingMessage & { principal?: { userId: string; tokenId: string } }).principal;
        return principal ? { user_id: principal.userId, token_id: principal.tokenId } : {};
      },
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, ...loggableTarget(req.url) }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        err: (e: Error) => ({ type: e?.name, message: scrubSecrets(String(e?.message)) }),
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
      autoLogging: { ignore: (req) => (req.url ?? '').startsWith('/health/') },
    },
  };
}
