import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { KlearClient } from '@app/klear-client';
import { describeError, type JobContext, type JobHandler, JobRunRepository, ScheduledJob } from '@app/jobs';
import { etDate, etDateDaysBefore } from '../et-date';
import { KlearIngestion } from '../klear-ingestion.service';
import { MarginReportFiles } from '../margin-report-files';
import { SettlementRepository } from '../settlement.repository';

/**
 * Lists margin reports for a date range (the backfill window at start-up, and until a run over that
 * window has succeeded; INGEST_REPORTS_LOOKBACK_DAYS otherwise, stretched back to the oldest report whose
 * file is missing), then downloads every listed report whose stored file is missing or does not match
 * its recorded size and SHA-256.
 */
@Injectable()
@ScheduledJob({ name: 'margin_reports', description: 'Margin reports and their files', defaultCron: '20 * * * *', runAtStartup: true })
export class MarginReportsJob implements JobHandler {
  private readonly files: MarginReportFiles;

  constructor(
    private readonly klear: KlearClient,
    private readonly ingestion: KlearIngestion,
    private readonly settlement: SettlementRepository,
    private readonly runs: JobRunRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {
    this.files = new MarginReportFiles(config.reports.dir);
  }

  async run(context: JobContext): Promise<void> {
    const today = etDate(this.clock.now());
    // A start-up run whose listing failed (Klear down at start-up) left the older reports unlisted, so
    // unknown to the "file missing" stretch below: the backfill window holds until a run over it succeeds.
    const backfill = context.trigger === 'startup' || !(await this.runs.lastSuccessWith(context.job, { window: 'backfill' }));
    const days = backfill ? this.config.worker.backfillDays : this.config.ingestion.reportsLookbackDays;
    let start = etDateDaysBefore(today, days);
    const oldestMissing = await this.settlement.oldestReportDateWithoutFile();
    if (oldestMissing && oldestMissing < start) start = oldestMissing;
    const listing = await this.ingestion.ingest(context, 'marginReports', () => this.klear.getMarginReports(start, today));
    const stored = new Map((await this.settlement.reportFiles((listing.reports ?? []).map((r) => r.id))).map((r) => [r.id, r]));
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
        await this.settlement.recordReportFile(report.id, { path, size: file.size, sha256: file.sha256, receivedAt: file.receivedAt });
        downloaded++;
        context.wrote();
      } catch (error) {
        const message = this.klear.redact(describeError(error));
        failures.push(`${report.date} ${report.reportType}: ${message}`);
        await this.settlement.recordReportDownloadError(report.id, message);
      }
    }
    context.setDetails({
      window: backfill ? 'backfill' : 'lookback',
      start_date: start,
      end_date: today,
      downloaded,
      failed: failures.length,
    });
    if (failures.length) throw new Error(`${failures.length} report file(s) not downloaded: ${failures.slice(0, 3).join('; ')}`);
  }
}
