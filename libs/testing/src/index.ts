export * from './route-inventory';
export * from './test-database';
export * from './xlsx-bomb';
export * from './chromium';
