import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { AuditService } from '@app/audit';
import type { Clock } from '@app/clock';
import { InvalidInput, NotFound } from '@app/errors';
import { monthStart, nextMonth, type RetentionRepository } from './retention.repository';

/**
 * Retention (docs/partitioning-and-retention.md): the months of the partitioned tables whose every
 * cycle is older than the configured age leave the hot tables. A month is refused, with its
 * reasons, when an open break, an unresolved withdrawal, the settlement buffer's running balance
 * or the previous cycle of the oldest kept cycle needs it. A month that passes is detached into the
 * `archive` schema (read-only, still queryable), exported to gzip COPY files with a SHA-256
 * manifest and the export read back; with dropAfterExport the archived tables are then dropped.
 * Every step is in the audit trail. The audit log itself is not partitioned and never touched.
 */
export interface RetentionOptions {
  olderThanDays: number;
  dryRun: boolean;
  /** Directory receiving one folder per month (its COPY files, manifest.json and SHA256SUMS). */
  outDir: string;
  dropAfterExport: boolean;
  actor: string;
}

export interface ExportedFile {
  table: string;
  archivedAs: string;
  rows: number;
  file: string;
  bytes: number;
  sha256: string;
}

export interface MonthOutcome {
  /** YYYY-MM (UTC). */
  month: string;
  action: 'archived' | 'would_archive' | 'refused';
  reasons: string[];
  tables: Array<{ table: string; rows: number }>;
  manifest?: { path: string; sha256: string; files: ExportedFile[] };
  dropped?: boolean;
}

export interface RetentionOutcome {
  cutoff: string;
  months: MonthOutcome[];
}

const DAY_MS = 86_400_000;

export class RetentionService {
  constructor(
    private readonly repository: RetentionRepository,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  heldMonths(): Promise<string[]> {
    return this.repository.heldMonths();
  }

  reasonsToKeep(...args: Parameters<RetentionRepository['reasonsToKeep']>): Promise<string[]> {
    return this.repository.reasonsToKeep(...args);
  }

  async run(options: RetentionOptions): Promise<RetentionOutcome> {
    if (!Number.isInteger(options.olderThanDays) || options.olderThanDays < 1)
      throw new InvalidInput('--older-than-days must be a whole number of days, at least 1');
    const cutoff = new Date(this.clock.now().getTime() - options.olderThanDays * DAY_MS);
    const months: MonthOutcome[] = [];
    for (const month of await this.repository.heldMonths()) {
      if (nextMonth(month) > cutoff) continue; // a cycle of it is younger than the cutoff
      months.push(await this.retire(month, cutoff, options));
    }
    return { cutoff: cutoff.toISOString(), months };
  }

  private async retire(month: string, cutoff: Date, options: RetentionOptions): Promise<MonthOutcome> {
    const decided = await this.repository.transaction(async (m) => {
      await this.repository.holdMonth(m, month);
      await this.repository.holdOffBreaksAndWithdrawals(m);
      // Another retention run may have archived it while this one listed the months and waited.
      const reasons = (await this.repository.heldMonths(m)).includes(month)
        ? await this.repository.reasonsToKeep(m, month, cutoff)
        : ['no longer in the hot tables: another retention run archived it meanwhile'];
      const tables = await this.repository.rowCounts(m, month);
      if (reasons.length > 0) {
        await this.recordStep(
          options,
          'retention.refuse',
          month,
          { reason: reasons.join('; '), details: { cutoff: cutoff.toISOString(), reasons, tables } },
          m,
        );
        return { month, action: 'refused' as const, reasons, tables, archived: [] };
      }
      if (options.dryRun) return { month, action: 'would_archive' as const, reasons, tables, archived: [] };
      const archived = await this.repository.archiveMonth(m, month);
      await this.recordStep(options, 'retention.detach', month, { details: { cutoff: cutoff.toISOString(), archived } }, m);
      return { month, action: 'archived' as const, reasons, tables: archived.map((a) => ({ table: a.table, rows: a.rows })), archived };
    });
    if (decided.action !== 'archived') return { month, action: decided.action, reasons: decided.reasons, tables: decided.tables };
    const manifest = await this.exportMonth(month, decided.archived, options.outDir);
    await this.recordStep(options, 'retention.export', month, {
      details: {
        manifest: manifest.path,
        manifest_sha256: manifest.sha256,
        files: manifest.files.map((f) => ({ table: f.table, file: f.file, rows: f.rows, bytes: f.bytes, sha256: f.sha256 })),
      },
    });
    let dropped = false;
    if (options.dropAfterExport) {
      await this.repository.transaction(async (m) => {
        await this.repository.holdMonth(m, month);
        const n = await this.repository.dropArchived(m, month);
        await this.recordStep(options, 'retention.drop', month, { details: { tables_dropped: n, manifest_sha256: manifest.sha256 } }, m);
      });
      dropped = true;
    }
    return { month, action: 'archived', reasons: [], tables: decided.tables, manifest, dropped };
  }

  /** Audits one step of retiring `month` (in the transaction `m` when given, as its own otherwise). */
  private recordStep(
    options: RetentionOptions,
    action: string,
    month: string,
    fields: { reason?: string; details: Record<string, unknown> },
    m?: Parameters<AuditService['record']>[1],
  ): Promise<unknown> {
    return this.audit.record({ actor: options.actor, action, entityType: 'partition_month', entityId: month, ...fields }, m);
  }

  /**
   * One gzip'd COPY text file per archived table, manifest.json naming each (rows, bytes, SHA-256)
   * and SHA256SUMS (`sha256sum -c` format) over the files and the manifest. Each file is read back:
   * its row count must match the table's, or the export fails (and nothing is dropped).
   */
  private async exportMonth(
    month: string,
    tables: Array<{ table: string; archivedAs: string; rows: number }>,
    outDir: string,
  ): Promise<{ path: string; sha256: string; files: ExportedFile[] }> {
    const dir = join(outDir, month);
    mkdirSync(dir, { recursive: true });
    const planned = tables.map((t) => ({ ...t, file: `${t.archivedAs.replace(/^archive\./, '')}.copy.gz` }));
    await this.repository.copyOut(planned.map((t) => ({ archivedAs: t.archivedAs, path: join(dir, t.file) })));
    const files: ExportedFile[] = [];
    for (const t of planned) {
      const check = await readBack(join(dir, t.file));
      if (check.lines !== t.rows) throw new Error(`${t.file}: ${check.lines} rows written, ${t.rows} archived`);
      files.push({ table: t.table, archivedAs: t.archivedAs, rows: t.rows, file: t.file, bytes: check.bytes, sha256: check.sha256 });
    }
    const manifest = {
      month,
      from: monthStart(month).toISOString(),
      to: nextMonth(month).toISOString(),
      exported_at: this.clock.now().toISOString(),
      format: 'PostgreSQL COPY text, gzip',
      files,
    };
    const manifestPath = join(dir, 'manifest.json');
    writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    const manifestSha = createHash('sha256').update(readFileSync(manifestPath)).digest('hex');
    writeFileSync(
      join(dir, 'SHA256SUMS'),
      [...files.map((f) => `${f.sha256}  ${f.file}`), `${manifestSha}  manifest.json`].join('\n') + '\n',
    );
    return { path: manifestPath, sha256: manifestSha, files };
  }

  /** Puts a month still held in the archive schema back into the hot tables (audited). */
  async restore(month: string, actor: string): Promise<number> {
    return this.repository.transaction(async (m) => {
      await this.repository.holdMonth(m, month);
      const n = await this.repository.restoreMonth(m, month);
      // An exported and dropped month is loaded back from its files instead (docs/partitioning-and-retention.md).
      if (n === 0) throw new NotFound('archived month (in the archive schema)', month);
      await this.audit.record(
        { actor, action: 'retention.restore', entityType: 'partition_month', entityId: month, details: { tables_restored: n } },
        m,
      );
      return n;
    });
  }
}

/** SHA-256 and size of a file, and the number of COPY lines (rows) it holds uncompressed. */
async function readBack(path: string): Promise<{ sha256: string; bytes: number; lines: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  let lines = 0;
  await pipeline(
    createReadStream(path),
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        hash.update(chunk);
        bytes += chunk.length;
        yield chunk;
      }
    },
    createGunzip(),
    async function (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) for (const byte of chunk) if (byte === 10) lines++;
    },
  );
  return { sha256: hash.digest('hex'), bytes, lines };
}
