export * from './retention.repository';
export * from './retention.service';
