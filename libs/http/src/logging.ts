import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Params } from 'nestjs-pino';
import pino, { type Logger, type LoggerOptions } from 'pino';
import { loggableUrl, REDACT_PATHS, scrubSecrets } from './redaction';

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
        method.apply(
          this,
          args.map((a) => (typeof a === 'string' ? scrubSecrets(a) : a)) as Parameters<typeof method>,
        );
      },
    },
  };
}

/** A structured JSON logger for code outside Nest (simulator, demo, CLI). */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info', destination?: pino.DestinationStream): Logger {
  return destination ? pino(baseOptions(name, level), destination) : pino(baseOptions(name, level));
}

/** nestjs-pino options: one JSON line per request, request ids, secrets redacted. */
export function httpLoggerParams(name: string, level: string): Params {
  return {
    pinoHttp: {
      ...baseOptions(name, level),
      genReqId: (req: IncomingMessage) => (req.headers['x-request-id'] as string | undefined)?.slice(0, 64) ?? randomUUID(),
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: loggableUrl(req.url) }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        err: (e: Error) => ({ type: e?.name, message: scrubSecrets(String(e?.message)) }),
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
      autoLogging: { ignore: (req) => (req.url ?? '').startsWith('/health/') },
    },
  };
}
