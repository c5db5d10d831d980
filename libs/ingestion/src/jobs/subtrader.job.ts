import { Injectable } from '@nestjs/common';
import { KlearClient } from '@app/klear-client';
import { type JobContext, type JobHandler, ScheduledJob } from '@app/jobs';
import { KlearIngestion } from '../klear-ingestion.service';

/**
 * Subtrader groups (netted margin portfolios) with membership history: who joined or left a group
 * is kept from one pull to the next (klear_subtrader_group_membership).
 */
@Injectable()
@ScheduledJob({
  name: 'subtrader_groups',
  description: 'Netted subtrader groups and their membership history',
  defaultCron: '*/15 * * * *',
  runAtStartup: true,
  startupOrder: 5,
})
export class SubtraderGroupsJob implements JobHandler {
  constructor(
    private readonly klear: KlearClient,
    private readonly ingestion: KlearIngestion,
  ) {}

  async run(context: JobContext): Promise<void> {
    await this.ingestion.ingest(context, 'subtraderGroups', () => this.klear.getSubtraderGroups());
  }
}
