export * from './domain-error';
export * from './error-body';
export * from './error.filter';
export * from './logging';
export * from './pagination';
export * from './redaction';
export * from './validation';
export * from './body-shape';
