import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuditService } from '@app/audit';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import type { ExportFile } from '@app/db';
import { BusinessRuleViolation, DomainError, InvalidInput, NotFound } from '@app/errors';
import { DateTime } from 'luxon';
import { ExportFileRepository } from './export-file.repository';
import { InvalidSettlementDate, SETTLEMENT_ZONE, settlementDay, workbookFileName } from './settlement-day';
import { WorkbookBuilder } from './workbook-builder';

export class ExportFileMissing extends DomainError {
  constructor(id: string) {
    super('EXPORT_FILE_MISSING', 'not_found', `the file of export ${id} is no longer in the exports directory`);
  }
}

/** Daily workbooks: build one for a day (a rebuild is a new version), list them, open one's file. */
@Injectable()
export class ExportsService {
  private readonly logger = new Logger('Exports');

  constructor(
    private readonly repository: ExportFileRepository,
    private readonly builder: WorkbookBuilder,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  get directory(): string {
    return resolve(this.config.exports.dir);
  }

  /**
   * Builds the day's workbook into a temporary file, hashes it, then (under the day's lock) links it
   * to a name no other version uses and records the row with an audit event. A failure leaves
   * neither a row nor a file behind.
   */
  async build(date: string, createdBy: string): Promise<ExportFile> {
    let day;
    try {
      day = settlementDay(date);
    } catch (error) {
      if (error instanceof InvalidSettlementDate)
        throw new InvalidInput(`date: ${error.message}`, [{ field: 'date', problems: [error.message] }]);
      throw error;
    }
    const madeAt = this.clock.now();
    const today = DateTime.fromJSDate(madeAt, { zone: SETTLEMENT_ZONE }).toISODate()!;
    if (date > today)
      throw new BusinessRuleViolation(
        'EXPORT_DATE_IN_FUTURE',
        `${date} is after today (${today}, America/New_York): there is nothing to reconcile yet`,
      );

    const dir = this.directory;
    await mkdir(join(dir, date), { recursive: true });
    const temporary = join(dir, `.building-${date}-${randomBytes(6).toString('hex')}.xlsx`);
    try {
      const started = performance.now();
      const built = await this.builder.build({ day, filePath: temporary, madeBy: createdBy, madeAt });
      const { size, sha256 } = await fileDigest(temporary);
      const row = await this.repository.withNextVersion(date, async (version, manager) => {
        const fileName = workbookFileName(date, version);
        // The stored name carries the version and a random part: an existing file is never overwritten.
        const stored = join(date, `klear-recon-${date}-v${version}-${randomBytes(4).toString('hex')}.xlsx`);
        await link(temporary, join(dir, stored));
        try {
          const saved = await this.repository.insert(manager, {
            settlementDate: date,
            version,
            reconciliationRunIds: built.runIds,
            filePath: stored,
            fileName,
            sizeBytes: String(size),
            sha256,
            rowCounts: built.rowCounts,
            createdBy,
            createdAt: madeAt,
          });
          await this.audit.record(
            {
              actor: createdBy,
              action: 'export.created',
              entityType: 'export_file',
              entityId: saved.id,
              toState: 'created',
              details: {
                settlement_date: date,
                version,
                file_name: fileName,
                size_bytes: String(size),
                sha256,
                reconciliation_run_ids: built.runIds,
              },
            },
            manager,
          );
          return saved;
        } catch (error) {
          await rm(join(dir, stored), { force: true });
          throw error;
        }
      });
      const anchor = built.auditAnchor ? `audit anchor ${built.auditAnchor.seq}:${built.auditAnchor.hash}` : 'audit log empty';
      this.logger.log(
        `workbook ${row.fileName} (${size} bytes, ${built.rowCounts['Settlement details'] ?? 0} detail rows) in ${Math.round(performance.now() - started)} ms; ${anchor}`,
      );
      return row;
    } finally {
      await rm(temporary, { force: true });
    }
  }

  async list(limit: number, after?: { date: string; version: number }): Promise<ExportFile[]> {
    return this.repository.list(limit, after);
  }

  async get(id: string): Promise<ExportFile> {
    const file = await this.repository.find(id);
    if (!file) throw new NotFound('export', id);
    return file;
  }

  /** The row and the absolute path of its file, checked to be inside the exports directory. */
  async fileOf(id: string): Promise<{ file: ExportFile; path: string; size: number }> {
    const file = await this.get(id);
    const path = resolve(this.directory, file.filePath);
    const inside = relative(this.directory, path);
    if (inside.startsWith('..') || isAbsolute(inside)) throw new ExportFileMissing(id);
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) throw new ExportFileMissing(id);
    return { file, path, size: info.size };
  }

  /**
   * The scheduled job's work list: days since the lookback (today included) whose cycles are all
   * reconciled and whose latest workbook is missing or leaves one of those cycles out. Today's is
   * built as soon as today's cycle is reconciled; a cycle added to a day later gets the day a new
   * version. A re-run of a cycle already covered does not (rebuilds on request: `POST /exports`).
   */
  async daysToBuild(lookbackDays: number): Promise<string[]> {
    const now = this.clock.now();
    const from = DateTime.fromJSDate(now, { zone: SETTLEMENT_ZONE }).startOf('day').minus({ days: lookbackDays }).toJSDate();
    return this.repository.daysToBuild(from, now);
  }
}

async function fileDigest(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}
