import { JobRun } from './job-run.entity';

export * from './job-run.entity';

export const JOBS_ENTITIES = [JobRun];
