export * from './job-lock';
export * from './job-registry';
export * from './job-run.repository';
export * from './job-runner';
export * from './job-scheduler';
export * from './jobs.module';
export * from './jobs.service';
export * from './scheduled-job';
