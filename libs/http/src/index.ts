export * from './error-body';
export * from './error.filter';
export * from './pagination';
export * from './validation';
export * from './body-shape';
export * from './json-body';
export * from './rate-limit';
export * from './security-headers';
