import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ensureCyclePartitionsAhead } from '@app/db';
import type { KlearRawAnswer, SpooledBody } from '@app/klear-client';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DataSource } from 'typeorm';
import { copyText } from './ingestion-transaction.repository';

/** An archived answer, as read back for re-interpretation. */
export interface ArchivedAnswer {
  id: string;
  endpoint: string;
  params: Record<string, string>;
  receivedAt: Date;
  body: string;
  jobRunId: string | null;
}

/** A URL or an endpoint without its query and fragment (where a presigned URL carries its signature). */
const withoutQuery = (text: string) => text.replace(/[?#].*$/, '');

/** Query parameters that must never be stored (secrets, presigned URL parts). */
const UNSTORABLE_PARAMS = /^(signature|sig|token|access_token|expires|x-amz-.*|password|code|email)$/i;

export function storableParams(params: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    if (UNSTORABLE_PARAMS.test(key)) continue;
    // A value that is itself a URL keeps its path only.
    out[key] = /^https?:\/\//i.test(value) ? withoutQuery(value) : value;
  }
  return out;
}

/** The immutable archive of Klear answers: append and read, nothing else (the database refuses the rest). */
@Injectable()
export class ResponseArchiveRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Writes the answer as it came and returns its archive id; committed before interpretation. A body
   * spooled to disk (past KLEAR_MAX_BUFFER_BYTES) streams from there into the row; the archive owns it
   * once given: it is closed when the append ends, written or not.
   */
  async append(raw: KlearRawAnswer, jobRunId: string | null): Promise<string> {
    try {
      return await this.write(raw, jobRunId);
    } finally {
      await raw.spooledBody?.close();
    }
  }

  private async write(raw: KlearRawAnswer, jobRunId: string | null): Promise<string> {
    // The archive is partitioned by month received: this month and the next exist before the row
    // (and before any cycle of this month reaches the other partitioned tables), in a short statement of its own.
    await ensureCyclePartitionsAhead(this.dataSource, raw.receivedAt);
    if (raw.spooledBody !== undefined) return this.appendSpooled(raw, raw.spooledBody, jobRunId);
    const rows = (await this.dataSource.query(
      `INSERT INTO klear_response_archive (endpoint, params, received_at, http_status, sha256, body, job_run_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [
        withoutQuery(raw.endpoint),
        JSON.stringify(storableParams(raw.params)),
        raw.receivedAt,
        raw.status,
        raw.sha256,
        Buffer.from(raw.body, 'utf8'),
        jobRunId,
      ],
    )) as Array<{ id: string }>;
    return rows[0].id;
  }

  /**
   * The same row as `append`, the body fed to COPY from its file in chunks (bytea in hex): this process
   * never holds it whole. The row, its sha256 (of the bytes as received, hashed while they streamed in)
   * and what reads it back are as for any answer. The bytes read back from the file are hashed again
   * on their way into the row: a file that does not give back what was received (a disk that lost or
   * changed bytes) aborts the COPY, so no row holds a body its sha256 does not describe.
   */
  private async appendSpooled(raw: KlearRawAnswer, file: SpooledBody, jobRunId: string | null): Promise<string> {
    const endpoint = withoutQuery(raw.endpoint);
    const runner = this.dataSource.createQueryRunner();
    const client = (await runner.connect()) as pg.PoolClient;
    try {
      const [{ id }] = (
        await client.query<{ id: string }>(`SELECT nextval(pg_get_serial_sequence('klear_response_archive', 'id'))::text AS id`)
      ).rows;
      const head = [id, endpoint, JSON.stringify(storableParams(raw.params)), raw.receivedAt.toISOString(), String(raw.status), raw.sha256]
        .map(copyText)
        .join('\t');
      async function* row() {
        yield `${head}\t\\\\x`;
        const readBack = createHash('sha256');
        let bytes = 0;
        for await (const chunk of file.chunks(1024 * 1024)) {
          readBack.update(chunk);
          bytes += chunk.length;
          yield chunk.toString('hex');
        }
        const sha256 = readBack.digest('hex');
        if (sha256 !== raw.sha256 || (raw.size !== undefined && bytes !== raw.size)) {
          throw new Error(
            `the spooled answer of ${endpoint} read back as ${bytes} bytes (sha256 ${sha256}), not the ${raw.size ?? '?'} received (sha256 ${raw.sha256}): not archived`,
          );
        }
        yield `\t${jobRunId ?? '\\N'}\n`;
      }
      await pipeline(
        Readable.from(row()),
        client.query(
          copyFrom(`COPY klear_response_archive (id, endpoint, params, received_at, http_status, sha256, body, job_run_id) FROM STDIN`),
        ),
      );
      return id;
    } finally {
      await runner.release();
    }
  }

  /**
   * The body of the archived detail page `endpoint` that the same job run archived after `answer`, for
   * one obligation and the cursor it was asked with (none: the first page); undefined when not archived.
   */
  async detailPageAfter(
    answer: ArchivedAnswer,
    endpoint: string,
    obligationId: string,
    cursor: string | undefined,
  ): Promise<string | undefined> {
    const [page] = (await this.dataSource.query(
      `SELECT convert_from(body, 'UTF8') AS body FROM klear_response_archive
        WHERE endpoint = $1 AND id > $2 AND job_run_id IS NOT DISTINCT FROM $3 AND params->>'obligation_id' = $4
          AND (params->>'cursor') IS NOT DISTINCT FROM $5::text
        ORDER BY id LIMIT 1`,
      [endpoint, answer.id, answer.jobRunId, obligationId, cursor ?? null],
    )) as Array<{ body: string }>;
    return page?.body;
  }

  /** Archived answers in the order they were received, a batch at a time (bodies can be large). */
  async *inOrder(batchSize = 50): AsyncGenerator<ArchivedAnswer> {
    let after = '0';
    for (;;) {
      const rows = (await this.dataSource.query(
        `SELECT id, endpoint, params, received_at, convert_from(body, 'UTF8') AS body, job_run_id
           FROM klear_response_archive WHERE id > $1 ORDER BY id LIMIT $2`,
        [after, batchSize],
      )) as Array<{
        id: string;
        endpoint: string;
        params: Record<string, string>;
        received_at: Date;
        body: string;
        job_run_id: string | null;
      }>;
      if (rows.length === 0) return;
      for (const r of rows)
        yield { id: r.id, endpoint: r.endpoint, params: r.params, receivedAt: r.received_at, body: r.body, jobRunId: r.job_run_id };
      after = rows[rows.length - 1].id;
    }
  }
}
