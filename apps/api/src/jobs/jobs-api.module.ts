import { Module } from '@nestjs/common';
import { IngestionModule } from '@app/ingestion';
import { JobsModule } from '@app/jobs';
import { JobsController } from './jobs.controller';

/**
 * Job routes. The API registers the jobs (without scheduling them) so that `POST /jobs/{name}/run`
 * runs them in-process under the job's advisory lock (the KlearClient comes from ApiModule).
 */
@Module({
  imports: [JobsModule.forRoot({ schedule: false }), IngestionModule],
  controllers: [JobsController],
})
export class JobsApiModule {}
