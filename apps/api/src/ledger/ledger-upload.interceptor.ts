import { rm } from 'node:fs/promises';
import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import multer from 'multer';
import { from, type Observable } from 'rxjs';
import { finalize, mergeMap } from 'rxjs/operators';
import type { Principal } from '@app/auth';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { DomainError, InvalidInput } from '@app/errors';
import { LedgerImportTooLarge, LedgerService } from '@app/ledger';
import { UploadsDirectory } from './uploads-directory';

/** Room for the multipart boundaries and part headers around the file itself. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/**
 * Streams the `file` part of a multipart upload to UPLOADS_DIR (mode 0600), never into memory, and
 * refuses anything over LEDGER_IMPORT_MAX_BYTES with 413: at once from Content-Length when the
 * client declares it, otherwise as soon as the stream passes the limit. A refused upload is
 * recorded as a refused import (and audited). The file is removed when the request is done.
 * Runs after the guards: an unauthenticated upload is never read.
 */
@Injectable()
export class LedgerUploadInterceptor implements NestInterceptor {
  private readonly upload: ReturnType<ReturnType<typeof multer>['single']>;
  private readonly maxBytes: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    uploads: UploadsDirectory,
    private readonly ledger: LedgerService,
  ) {
    this.maxBytes = config.ledger.importMaxBytes;
    this.upload = multer({ storage: uploads.storage(), limits: { fileSize: this.maxBytes, files: 1, fields: 5, parts: 6 } }).single('file');
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<Request & { principal?: Principal; file?: { path?: string; originalname?: string } }>();
    const res = context.switchToHttp().getResponse<Response>();
    const refuse = async (error: DomainError, receivedBytes: number): Promise<never> => {
      await this.ledger.recordRefusedImport({
        fileName: req.file?.originalname ?? '(not received)',
        sizeBytes: receivedBytes,
        partial: req.query?.partial === 'true',
        actor: req.principal?.name ?? 'unknown',
        error: { code: error.code, message: error.message },
      });
      throw error;
    };
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > this.maxBytes + MULTIPART_OVERHEAD_BYTES) {
      // Do not read (or keep the connection for) a body we refuse.
      res.setHeader('Connection', 'close');
      return from(refuse(new LedgerImportTooLarge(this.maxBytes), declared));
    }
    const received = new Promise<void>((resolve, reject) => {
      this.upload(req, res, (error: unknown) => {
        if (!error) return resolve();
        if (error instanceof multer.MulterError) {
          if (error.code === 'LIMIT_FILE_SIZE') {
            res.setHeader('Connection', 'close');
            void refuse(new LedgerImportTooLarge(this.maxBytes), this.maxBytes).catch(reject);
            return;
          }
          void refuse(
            new InvalidInput(`upload: ${error.message}; send one file in the multipart field "file"`, [
              { field: error.field ?? 'file', problems: [error.message] },
            ]),
            0,
          ).catch(reject);
          return;
        }
        reject(error);
      });
    });
    return from(received).pipe(
      mergeMap(() => (req.file ? next.handle() : from(refuse(missingFile(), 0)))),
      finalize(() => {
        const path = req.file?.path;
        if (path) void rm(path, { force: true });
      }),
    );
  }
}

const missingFile = () =>
  new InvalidInput('file: send the CSV or XLSX in the multipart field "file"', [{ field: 'file', problems: ['is required'] }]);
