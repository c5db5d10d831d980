export * from './auth-failure-limiter';
export * from './auth.guard';
export * from './auth.module';
export * from './principal';
export * from './roles';
export * from './token-hash';
export * from './users.service';
