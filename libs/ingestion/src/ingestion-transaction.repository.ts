import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DataSource } from 'typeorm';

/** One transaction on one connection: plain queries plus COPY for bulk rows. */
export interface SqlTransaction {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** `COPY <table> (<columns>) FROM STDIN` in text format, fed with already escaped lines. */
  copyIn(copySql: string, lines: Iterable<string>): Promise<void>;
}

export async function inTransaction<T>(dataSource: DataSource, work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner();
  const client = (await runner.connect()) as pg.PoolClient;
  try {
    await runner.startTransaction();
    const tx: SqlTransaction = {
      query: async <R>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as R[],
      copyIn: async (copySql, lines) => {
        const stream = client.query(copyFrom(copySql));
        await pipeline(Readable.from(batched(lines)), stream);
      },
    };
    const result = await work(tx);
    await runner.commitTransaction();
    return result;
  } catch (error) {
    if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
    throw error;
  } finally {
    await runner.release();
  }
}

/**
 * The transactions ingestion writes in: the one way a service runs repository writes together
 * (services are not given the DataSource).
 */
@Injectable()
export class IngestionTransactionRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  run<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    return inTransaction(this.dataSource, work);
  }
}

/** Groups COPY lines into ~64 KB chunks: one stream write per row would dominate the cost. */
function* batched(lines: Iterable<string>): Generator<string> {
  let buffer = '';
  for (const line of lines) {
    buffer += line;
    if (buffer.length >= 65_536) {
      yield buffer;
      buffer = '';
    }
  }
  if (buffer.length > 0) yield buffer;
}

/** A value for COPY text format (tab separated): backslash, tab, newline and carriage return escaped. */
export function copyText(value: string | bigint | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'bigint') return value.toString();
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** Money arrays for unnest(): bigint values as decimal strings (pg casts text[] to bigint[]). */
export const bigints = (values: bigint[]): string[] => values.map((v) => v.toString());
