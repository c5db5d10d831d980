import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { Request } from 'express';
import type multer from 'multer';
import { APP_CONFIG, type AppConfig } from '@app/config';

const PREFIX = 'klear-upload-';

/**
 * Where uploads wait while they are imported: UPLOADS_DIR (mode 0700), each file mode 0600 and named
 * after the process that wrote it. At start-up, files left by a process that no longer runs (a
 * crash) are removed; files of live processes (another instance on this host) are left alone.
 */
@Injectable()
export class UploadsDirectory implements OnModuleInit {
  private readonly logger = new Logger('Uploads');
  readonly path: string;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.path = resolve(config.ledger.uploadsDir);
  }

  async onModuleInit(): Promise<void> {
    await mkdir(this.path, { recursive: true, mode: 0o700 });
    await chmod(this.path, 0o700);
    const removed = await this.removeLeftovers();
    if (removed > 0) this.logger.warn(`removed ${removed} upload(s) left behind by a stopped process in ${this.path}`);
  }

  /** Removes upload files whose writing process is gone; returns how many. */
  async removeLeftovers(): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.path)) {
      const pid = Number(/^klear-upload-(\d+)-[0-9a-f]+$/.exec(name)?.[1]);
      if (!Number.isInteger(pid) || pid === process.pid || processAlive(pid)) continue;
      await rm(join(this.path, name), { force: true });
      removed += 1;
    }
    return removed;
  }

  /** A multer storage engine writing each file here, mode 0600, never overwriting one. */
  storage(): multer.StorageEngine {
    const dir = this.path;
    return {
      _handleFile(_req: Request, file: Express.Multer.File, callback: (error?: unknown, info?: Partial<Express.Multer.File>) => void) {
        const path = join(dir, `${PREFIX}${process.pid}-${randomBytes(12).toString('hex')}`);
        const out = createWriteStream(path, { mode: 0o600, flags: 'wx' });
        let size = 0;
        file.stream.on('data', (chunk: Buffer) => (size += chunk.length));
        file.stream.on('error', (error) => out.destroy(error));
        out.on('error', (error) => callback(error));
        out.on('finish', () => callback(null, { path, size, destination: dir, filename: path.slice(dir.length + 1) }));
        file.stream.pipe(out);
      },
      _removeFile(_req: Request, file: Express.Multer.File & { path?: string }, callback: (error: Error | null) => void) {
        if (!file.path) return callback(null);
        rm(file.path, { force: true }).then(() => callback(null), callback);
      },
    };
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
