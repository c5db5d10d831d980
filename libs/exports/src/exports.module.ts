import { Module } from '@nestjs/common';
import { DailyWorkbookJob } from './daily-workbook.job';
import { ExportFileRepository } from './export-file.repository';
import { ExportsService } from './exports.service';
import { WorkbookBuilder } from './workbook-builder';
import { WorkbookReadRepository } from './workbook-read.repository';

/** Daily workbooks. Needs DbModule, the global AuditModule and ClockModule, and APP_CONFIG; the job runs where JobsModule schedules. */
@Module({
  providers: [WorkbookReadRepository, ExportFileRepository, WorkbookBuilder, ExportsService, DailyWorkbookJob],
  exports: [ExportsService, WorkbookBuilder, WorkbookReadRepository, ExportFileRepository],
})
export class ExportsModule {}
