import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dedicatedPgClient } from '@app/db';
import { from as copyFrom } from 'pg-copy-streams';
import { copyText, inTransaction, interpretAnswer, ResponseArchiveRepository } from '@app/ingestion';
import type { KlearClient } from '@app/klear-client';
import type { ObligationEntry } from '@app/klear-contract';
import type { DataSource } from 'typeorm';
import type { Measurement } from './results';

/**
 * One cycle's settlement details through the real ingestion path (archive the body, then interpret
 * it into the derived tables in one transaction: hash, version, obligation, details by COPY) vs a
 * plain COPY of the same rows into a table of the same shape and indexes, in the same database.
 * The Klear fetch is outside both timings: this measures what we do with an answer.
 */
export async function benchIngestionVsCopy(client: KlearClient, dataSource: DataSource, databaseUrl: string): Promise<Measurement> {
  // Two cycles, one answer each (as the job pages them): the older one warms both paths up (JIT,
  // connections), the newer one is measured; each ingestion archives exactly its own answer body.
  const measuredAnswer = await client.getObligationHistory({ limit: 1 });
  const warmUpAnswer = await client.getObligationHistory({ limit: 1, cursor: measuredAnswer.data.cursor ?? undefined });
  const [obligation] = measuredAnswer.data.obligations;
  const [warmUp] = warmUpAnswer.data.obligations;
  if (!obligation || !warmUp) throw new Error('the simulator returned fewer than two settled obligations');
  const rows = obligation.settlement_details.length;

  const archive = new ResponseArchiveRepository(dataSource);
  const ingest = async (answer: typeof measuredAnswer) => {
    const archiveId = await archive.append(answer.raw, null);
    return inTransaction(dataSource, (tx) => interpretAnswer(tx, 'obligationHistory', answer.data, archiveId, answer.raw.receivedAt));
  };
  await ingest(warmUpAnswer);
  await plainCopy(databaseUrl, warmUp);
  const ingestStart = process.hrtime.bigint();
  const result = await ingest(measuredAnswer);
  const ingestSeconds = Number(process.hrtime.bigint() - ingestStart) / 1e9;
  if (result.written < rows) throw new Error(`ingestion wrote ${result.written} rows for ${rows} details`);

  const copySeconds = await plainCopy(databaseUrl, obligation);
  const value = rows / ingestSeconds;
  const floor = rows / copySeconds;
  return {
    name: `ingestion: settlement details (${rows} rows)`,
    value,
    unit: 'rows/s',
    floor,
    ratio: floor / value,
    target: { on: 'ratio', op: '<=', limit: 3 },
  };
}

async function plainCopy(databaseUrl: string, obligation: ObligationEntry): Promise<number> {
  const client = dedicatedPgClient({ connectionString: databaseUrl }, 'bench COPY floor');
  await client.connect();
  try {
    await client.query(`CREATE TABLE bench_copy_floor (LIKE klear_settlement_detail INCLUDING ALL)`);
    const start = process.hrtime.bigint();
    await client.query('BEGIN');
    const stream = client.query(copyFrom(`COPY bench_copy_floor (obligation_id, id, market_ticker, subtrader_id, pnl_centicents, fees_centicents, total_centicents) FROM STDIN`));
    await pipeline(Readable.from(copyChunks(obligation)), stream);
    await client.query('COMMIT');
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const [{ n }] = (await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM bench_copy_floor`)).rows;
    if (Number(n) !== obligation.settlement_details.length) throw new Error(`COPY floor holds ${n} rows`);
    await client.query(`DROP TABLE bench_copy_floor`);
    return seconds;
  } finally {
    await client.end();
  }
}

function* copyChunks(obligation: ObligationEntry): Generator<string> {
  const id = copyText(obligation.id);
  let buffer = '';
  for (const d of obligation.settlement_details) {
    buffer += `${id}\t${copyText(d.id)}\t${copyText(d.market_ticker)}\t${copyText(d.subtrader_id)}\t${d.pnl_centicents}\t${d.total_fees_centicents}\t${d.total_amount_centicents}\n`;
    if (buffer.length >= 65_536) {
      yield buffer;
      buffer = '';
    }
  }
  if (buffer) yield buffer;
}
