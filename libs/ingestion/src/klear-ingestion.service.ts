import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock } from '@app/clock';
import { type KlearAnswerData, KlearSchemaError, type KlearResponse, sha256Hex } from '@app/klear-client';
import type { JobContext } from '@app/jobs';
import { DataSource } from 'typeorm';
import { type InterpretableName, type Interpretation, interpretAnswer } from './klear-answer-interpreter';
import { ResponseArchiveRepository } from './response-archive.repository';
import { inTransaction } from './sql-transaction';

/**
 * The one path every Klear read of a job takes: fetch (the client retries and rate-limits), archive
 * the body as it came, then interpret it into the derived tables in one transaction.
 */
@Injectable()
export class KlearIngestion {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly archive: ResponseArchiveRepository,
    private readonly clock: Clock,
  ) {}

  async ingest<N extends InterpretableName>(context: JobContext, name: N, fetch: () => Promise<KlearResponse<KlearAnswerData<N>>>): Promise<Interpretation> {
    let answer: KlearResponse<KlearAnswerData<N>>;
    try {
      answer = await fetch();
    } catch (error) {
      // A body that breaks the contract is still archived: it is what Klear said.
      if (error instanceof KlearSchemaError) {
        await this.archive.append(
          { body: error.rawBody, status: error.status, endpoint: error.endpoint, params: {}, receivedAt: this.clock.now(), sha256: sha256Hex(error.rawBody) },
          context.runId,
        );
      }
      throw error;
    }
    const archiveId = await this.archive.append(answer.raw, context.runId);
    const result = await inTransaction(this.dataSource, (tx) => interpretAnswer(tx, name, answer.data, archiveId, answer.raw.receivedAt));
    context.read(result.read);
    context.wrote(result.written);
    return result;
  }

  transaction<T>(work: Parameters<typeof inTransaction<T>>[1]): Promise<T> {
    return inTransaction(this.dataSource, work);
  }

  query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.dataSource.query(sql, params) as Promise<T[]>;
  }
}
