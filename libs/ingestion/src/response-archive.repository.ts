import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { KlearRawAnswer } from '@app/klear-client';
import { DataSource } from 'typeorm';

/** An archived answer, as read back for re-interpretation. */
export interface ArchivedAnswer {
  id: string;
  endpoint: string;
  params: Record<string, string>;
  receivedAt: Date;
  body: string;
  jobRunId: string | null;
}

/** Query parameters that must never be stored (secrets, presigned URL parts). */
const UNSTORABLE_PARAMS = /^(signature|sig|token|access_token|expires|x-amz-.*|password|code|email)$/i;

export function storableParams(params: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    if (UNSTORABLE_PARAMS.test(key)) continue;
    // A value that is itself a URL keeps its path only.
    out[key] = /^https?:\/\//i.test(value) ? value.replace(/[?#].*$/, '') : value;
  }
  return out;
}

/** The immutable archive of Klear answers: append and read, nothing else (the database refuses the rest). */
@Injectable()
export class ResponseArchiveRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Writes the answer as it came and returns its archive id; committed before interpretation. */
  async append(raw: KlearRawAnswer, jobRunId: string | null): Promise<string> {
    const rows = (await this.dataSource.query(
      `INSERT INTO klear_response_archive (endpoint, params, received_at, http_status, sha256, body, job_run_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [raw.endpoint.replace(/[?#].*$/, ''), JSON.stringify(storableParams(raw.params)), raw.receivedAt, raw.status, raw.sha256, Buffer.from(raw.body, 'utf8'), jobRunId],
    )) as Array<{ id: string }>;
    return rows[0].id;
  }

  /** Archived answers in the order they were received, a batch at a time (bodies can be large). */
  async *inOrder(batchSize = 50): AsyncGenerator<ArchivedAnswer> {
    let after = '0';
    for (;;) {
      const rows = (await this.dataSource.query(
        `SELECT id, endpoint, params, received_at, convert_from(body, 'UTF8') AS body, job_run_id
           FROM klear_response_archive WHERE id > $1 ORDER BY id LIMIT $2`,
        [after, batchSize],
      )) as Array<{ id: string; endpoint: string; params: Record<string, string>; received_at: Date; body: string; job_run_id: string | null }>;
      if (rows.length === 0) return;
      for (const r of rows) yield { id: r.id, endpoint: r.endpoint, params: r.params, receivedAt: r.received_at, body: r.body, jobRunId: r.job_run_id };
      after = rows[rows.length - 1].id;
    }
  }
}
