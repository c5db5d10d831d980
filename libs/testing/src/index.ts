export * from './route-inventory';
export * from './test-database';
