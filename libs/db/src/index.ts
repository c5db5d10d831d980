export * from './advisory-locks';
export * from './data-source';
export * from './database-url';
export * from './db.module';
export * from './embedded-postgres';
export * from './entities/index';
export * from './migrate';
export * from './pg-connection';
