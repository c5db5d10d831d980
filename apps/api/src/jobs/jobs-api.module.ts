import { Module } from '@nestjs/common';
import { IngestionModule } from '@app/ingestion';
import { JobsModule } from '@app/jobs';
import { NotificationJobsModule } from '@app/notifications';
import { WithdrawalJobsModule } from '@app/withdrawals';
import { JobsController } from './jobs.controller';

/**
 * Job routes. The API registers the jobs (without scheduling them) so that `POST /jobs/{name}/run`
 * runs them in-process under the job's advisory lock (the KlearClient comes from ApiModule). Every
 * job the worker schedules is registered here too, so that `GET /jobs` is the same list.
 */
@Module({
  imports: [JobsModule.forRoot({ schedule: false }), IngestionModule, WithdrawalJobsModule, NotificationJobsModule],
  controllers: [JobsController],
})
export class JobsApiModule {}
