import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import type { KlearBodySink } from '@app/klear-client';
import { dirname, extname, join, resolve } from 'node:path';

/**
 * Report files as Klear served them, under REPORTS_DIR: `<date>/<type>-<created>.<ext>`. Written to a
 * temporary name, synced and renamed, so a crash never leaves a half file under the final name.
 */
export class MarginReportFiles {
  readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
  }

  relativePath(report: { date: string; reportType: string; createdTs: string; url: string }): string {
    const ext =
      extname(new URL(report.url).pathname)
        .replace(/[^.a-z0-9]/gi, '')
        .slice(0, 8) || '.bin';
    const created = report.createdTs.replace(/[^0-9TZ]/g, '');
    return join(report.date.replace(/[^0-9-]/g, ''), `${report.reportType.replace(/[^a-z_]/g, '')}-${created}${ext}`);
  }

  absolute(relativePath: string): string {
    const path = resolve(this.root, relativePath);
    if (!path.startsWith(`${this.root}/`)) throw new Error('report path escapes REPORTS_DIR');
    return path;
  }

  /** True when the stored file exists with the recorded size and SHA-256. */
  async intact(relativePath: string | null, size: bigint | string | null, sha256: string | null): Promise<boolean> {
    if (!relativePath || size === null || !sha256) return false;
    try {
      const path = this.absolute(relativePath);
      if (BigInt((await stat(path)).size) !== BigInt(size)) return false;
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
      return hash.digest('hex') === sha256;
    } catch {
      return false;
    }
  }

  /**
   * Streams a download into `relativePath`: written (mode 0600) to a temporary name, synced, then
   * renamed; a failed or oversized download leaves nothing behind. `fetch` receives the sink opener.
   */
  async download<T>(relativePath: string, fetch: (open: () => Promise<KlearBodySink>) => Promise<T>): Promise<T> {
    const path = this.absolute(relativePath);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const temporary = `${path}.partial-${process.pid}`;
    const result = await fetch(async () => {
      const handle = await open(temporary, 'w', 0o600);
      return {
        write: async (chunk: Buffer) => {
          await handle.write(chunk);
        },
        close: async () => {
          await handle.sync();
          await handle.close();
        },
        discard: async () => {
          await handle.close().catch(() => undefined);
          await rm(temporary, { force: true });
        },
      };
    });
    await rename(temporary, path);
    return result;
  }
}
