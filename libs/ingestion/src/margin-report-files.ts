import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
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
    const ext = extname(new URL(report.url).pathname).replace(/[^.a-z0-9]/gi, '').slice(0, 8) || '.bin';
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
      return createHash('sha256').update(await readFile(path)).digest('hex') === sha256;
    } catch {
      return false;
    }
  }

  async write(relativePath: string, bytes: Buffer): Promise<void> {
    const path = this.absolute(relativePath);
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.partial-${process.pid}`;
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  }
}
