import type { INestApplication } from '@nestjs/common';
import { DataSource, type Logger } from 'typeorm';

export interface StatementCounter {
  /** Statements the application's DataSource sent since the last `reset`, in order. */
  readonly statements: string[];
  reset(): void;
  /** How many of them match. */
  count(pattern: RegExp): number;
}

/**
 * Records every statement the API's TypeORM DataSource sends (TypeORM hands each one to its logger
 * before running it, whatever the logging option), so a test can assert how many round trips a
 * request costs.
 */
export function countStatements(app: INestApplication): StatementCounter {
  const dataSource = app.get(DataSource);
  const statements: string[] = [];
  const silent = () => undefined;
  const logger: Logger = {
    logQuery: (query) => void statements.push(query.replace(/\s+/g, ' ').trim()),
    logQueryError: silent,
    logQuerySlow: silent,
    logSchemaBuild: silent,
    logMigration: silent,
    log: silent,
  };
  Object.defineProperty(dataSource, 'logger', { value: logger, configurable: true });
  return {
    statements,
    reset: () => void statements.splice(0),
    count: (pattern) => statements.filter((s) => pattern.test(s)).length,
  };
}
