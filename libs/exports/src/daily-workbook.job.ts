import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { type JobContext, type JobHandler, ScheduledJob } from '@app/jobs';
import { ExportsService } from './exports.service';

export const DAILY_WORKBOOK_JOB = 'daily_workbook';

/**
 * Builds each settlement day's workbook as soon as all the day's cycles are reconciled, today's
 * included. It polls (default every 15 minutes, JOB_DAILY_WORKBOOK_CRON) rather than firing once, so
 * a late reconciliation still gets its workbook. A day whose latest workbook covers all its cycles is
 * not rebuilt by the job (rebuilds are `POST /exports`); one that gained a cycle since gets a new version.
 */
@Injectable()
@ScheduledJob({
  name: DAILY_WORKBOOK_JOB,
  description: 'Daily reconciliation workbook, once the day is reconciled',
  defaultCron: '*/15 * * * *',
  runAtStartup: true,
})
export class DailyWorkbookJob implements JobHandler {
  constructor(
    private readonly exports: ExportsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async run(context: JobContext): Promise<void> {
    const days = await this.exports.daysToBuild(this.config.exports.lookbackDays);
    context.read(days.length);
    const built: Array<{ date: string; id: string; version: number }> = [];
    for (const date of days) {
      if (context.signal.aborted) throw new Error('stopped by shutdown');
      const file = await this.exports.build(date, `job:${DAILY_WORKBOOK_JOB}`);
      built.push({ date, id: file.id, version: file.version });
      context.wrote();
      context.progress(`built ${file.fileName}`, { export_id: file.id });
    }
    context.setDetails({ built });
  }
}
