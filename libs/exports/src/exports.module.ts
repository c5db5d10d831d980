import { Module } from '@nestjs/common';
import { DailyWorkbookJob } from './daily-workbook.job';
import { ExportsRepository } from './exports.repository';
import { ExportsService } from './exports.service';
import { WorkbookBuilder } from './workbook-builder';

/** Daily workbooks. Needs DbModule, the global AuditModule and APP_CONFIG; the job runs where JobsModule schedules. */
@Module({
  providers: [ExportsRepository, WorkbookBuilder, ExportsService, DailyWorkbookJob],
  exports: [ExportsService, WorkbookBuilder, ExportsRepository],
})
export class ExportsModule {}
