export * from './audit-chain';
export * from './audit.module';
export * from './audit.repository';
export * from './audit.service';
export * from './canonical-json';
