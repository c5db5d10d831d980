export * from './logging';
export * from './redaction';
