import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { KlearClient } from '@app/klear-client';
import { describeError, type JobContext, type JobHandler, ScheduledJob } from '@app/jobs';
import { etDate, etDateDaysBefore } from '../et-date';
import { KlearIngestion } from '../klear-ingestion.service';
import { MarginReportFiles } from '../margin-report-files';

/**
 * Lists margin reports for a date range (the backfill window at start-up, INGEST_REPORTS_LOOKBACK_DAYS
 * otherwise, stretched back to the oldest report whose file is missing), then downloads every listed
 * report whose stored file is missing or does not match its recorded size and SHA-256.
 */
@Injectable()
@ScheduledJob({ name: 'margin_reports', description: 'Margin reports and their files', defaultCron: '20 * * * *', runAtStartup: true })
export class MarginReportsJob implements JobHandler {
  private readonly files: MarginReportFiles;

  constructor(
    private readonly klear: KlearClient,
    private readonly ingestion: KlearIngestion,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {
    this.files = new MarginReportFiles(config.reports.dir);
  }

  async run(context: JobContext): Promise<void> {
    const today = etDate(this.clock.now());
    const days = context.trigger === 'startup' ? this.config.worker.backfillDays : this.config.ingestion.reportsLookbackDays;
    let start = etDateDaysBefore(today, days);
    const [oldestMissing] = await this.ingestion.query<{ d: string | null }>(
      `SELECT min(report_date)::text AS d FROM klear_margin_report WHERE file_sha256 IS NULL OR last_download_error IS NOT NULL`,
    );
    if (oldestMissing?.d && oldestMissing.d < start) start = oldestMissing.d;
    const listing = await this.ingestion.ingest(context, 'marginReports', () => this.klear.getMarginReports(start, today));
    const stored = new Map(
      (await this.ingestion.query<{ id: string; file_path: string | null; file_size: string | null; file_sha256: string | null }>(
        `SELECT id, file_path, file_size, file_sha256 FROM klear_margin_report WHERE id = ANY($1::bigint[])`,
        [(listing.reports ?? []).map((r) => r.id)],
      )).map((r) => [r.id, r]),
    );
    let downloaded = 0;
    const failures: string[] = [];
    for (const report of listing.reports ?? []) {
      if (context.signal.aborted) throw new Error('stopped by shutdown');
      const row = stored.get(report.id);
      if (row && (await this.files.intact(row.file_path, row.file_size, row.file_sha256))) continue;
      const path = this.files.relativePath(report);
      try {
        // Streamed to disk with its SHA-256, capped at KLEAR_REPORT_MAX_BYTES, from an allowed host only.
        const file = await this.files.download(path, (open) => this.klear.downloadReportTo(report.url, open));
        await this.ingestion.query(
          `UPDATE klear_margin_report SET file_path = $2, file_size = $3, file_sha256 = $4, downloaded_at = $5, last_download_error = NULL WHERE id = $1`,
          [report.id, path, file.size, file.sha256, file.receivedAt],
        );
        downloaded++;
        context.wrote();
      } catch (error) {
        const message = this.klear.redact(describeError(error));
        failures.push(`${report.date} ${report.reportType}: ${message}`);
        await this.ingestion.query(`UPDATE klear_margin_report SET last_download_error = $2 WHERE id = $1`, [report.id, message]);
      }
    }
    context.setDetails({ start_date: start, end_date: today, downloaded, failed: failures.length });
    if (failures.length) throw new Error(`${failures.length} report file(s) not downloaded: ${failures.slice(0, 3).join('; ')}`);
  }
}
