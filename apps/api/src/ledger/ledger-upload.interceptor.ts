import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import multer from 'multer';
import { from, type Observable } from 'rxjs';
import { finalize, mergeMap } from 'rxjs/operators';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { InvalidInput } from '@app/http';
import { LedgerImportTooLarge } from '@app/ledger';

/** Room for the multipart boundaries and part headers around the file itself. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/**
 * Streams the `file` part of a multipart upload to a temporary file, never into memory, and
 * refuses anything over LEDGER_IMPORT_MAX_BYTES with 413: at once from Content-Length when the
 * client declares it, otherwise as soon as the stream passes the limit. The file is removed
 * when the request is done.
 */
@Injectable()
export class LedgerUploadInterceptor implements NestInterceptor {
  private readonly upload: ReturnType<ReturnType<typeof multer>['single']>;
  private readonly maxBytes: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.maxBytes = config.ledger.importMaxBytes;
    this.upload = multer({
      storage: multer.diskStorage({
        destination: tmpdir(),
        filename: (_req, _file, done) => done(null, `klear-ledger-import-${randomBytes(12).toString('hex')}`),
      }),
      limits: { fileSize: this.maxBytes, files: 1, fields: 5, parts: 6 },
    }).single('file');
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<Request>();
    const res = context.switchToHttp().getResponse<Response>();
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > this.maxBytes + MULTIPART_OVERHEAD_BYTES) {
      // Do not read (or keep the connection for) a body we refuse.
      res.setHeader('Connection', 'close');
      throw new LedgerImportTooLarge(this.maxBytes);
    }
    const received = new Promise<void>((resolve, reject) => {
      this.upload(req, res, (error: unknown) => {
        if (!error) return resolve();
        if (error instanceof multer.MulterError) {
          if (error.code === 'LIMIT_FILE_SIZE') {
            res.setHeader('Connection', 'close');
            return reject(new LedgerImportTooLarge(this.maxBytes));
          }
          return reject(new InvalidInput(`upload: ${error.message}; send one file in the multipart field "file"`, [{ field: error.field ?? 'file', problems: [error.message] }]));
        }
        reject(error);
      });
    });
    return from(received).pipe(
      mergeMap(() => next.handle()),
      finalize(() => {
        const path = (req as Request & { file?: { path?: string } }).file?.path;
        if (path) void rm(path, { force: true });
      }),
    );
  }
}


