import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dedicatedPgClient } from '@app/db';
import { from as copyFrom } from 'pg-copy-streams';
import { startKlearSimulator } from '@apps/klear-sim';
import {
  completeObligations,
  copyText,
  inTransaction,
  interpretAnswer,
  klearDetailPager,
  type ObligationCompletion,
  ResponseArchiveRepository,
} from '@app/ingestion';
import type { KlearClient, KlearRawAnswer } from '@app/klear-client';
import type { ObligationEntry } from '@app/klear-contract';
import type { DataSource } from 'typeorm';
import { basicTierClient, basicTierUse } from './rate-limit-bench';
import type { Measurement } from './results';

/**
 * One cycle's obligation through the real ingestion path of the live API: its inline lists are cut at
 * 1,000 rows, so the complete settlement details come from the paged endpoint (1,000 rows a page).
 * Timed: archiving every answer body (the obligation page and each detail page) and interpreting the
 * completed obligation into the derived tables in one transaction (hash, version, obligation,
 * details by COPY), vs a plain COPY of the same rows into a table of the same shape and indexes. The
 * Klear fetches are outside both timings (paging speed is measured at tier basic separately).
 */
export async function benchIngestionVsCopy(client: KlearClient, dataSource: DataSource, databaseUrl: string): Promise<Measurement> {
  // Two cycles: the older one warms both paths up (JIT, connections), the newer one is measured.
  const measured = await fetchWhole(client, undefined);
  const warmUp = await fetchWhole(client, measured.answer.data.cursor ?? undefined);
  const rows = measured.entry.settlement_details.length;

  await ingestFetched(dataSource, warmUp);
  await plainCopy(databaseUrl, warmUp.entry);
  const ingested = await ingestFetched(dataSource, measured);
  const ingestSeconds = ingested.seconds;

  const copySeconds = await plainCopy(databaseUrl, measured.entry);
  const value = rows / ingestSeconds;
  const floor = rows / copySeconds;
  return {
    name: `ingestion: settlement details (${rows} rows from ${measured.pages.length} paged answers)`,
    value,
    unit: 'rows/s',
    floor,
    ratio: floor / value,
    target: { on: 'ratio', op: '<=', limit: 3 },
  };
}

export interface Fetched {
  answer: Awaited<ReturnType<KlearClient['getObligationHistory']>>;
  pages: KlearRawAnswer[];
  completion: ObligationCompletion;
  entry: ObligationEntry;
}

/**
 * The timed part of ingestion: archiving every answer body (the obligation page and each detail
 * page) and interpreting the completed obligation into the derived tables in one transaction.
 * Answers the wall time and the archive ids written (first and last).
 */
export async function ingestFetched(
  dataSource: DataSource,
  fetched: Fetched,
): Promise<{ seconds: number; written: number; firstArchiveId: string; lastArchiveId: string }> {
  const archive = new ResponseArchiveRepository(dataSource);
  const started = process.hrtime.bigint();
  const firstArchiveId = await archive.append(fetched.answer.raw, null);
  let lastArchiveId = firstArchiveId;
  for (const page of fetched.pages) lastArchiveId = await archive.append(page, null);
  const result = await inTransaction(dataSource, (tx) =>
    interpretAnswer(tx, 'obligationHistory', fetched.answer.data, firstArchiveId, fetched.answer.raw.receivedAt, fetched.completion),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rows = fetched.entry.settlement_details.length;
  if (result.written < rows) throw new Error(`ingestion wrote ${result.written} rows for ${rows} details`);
  return { seconds, written: result.written, firstArchiveId, lastArchiveId };
}

/** One obligation of the history with its truncated lists completed from the paged endpoints. */
export async function fetchWhole(client: KlearClient, cursor: string | undefined): Promise<Fetched> {
  const answer = await client.getObligationHistory({ limit: 1, cursor });
  const [first] = answer.data.obligations;
  if (!first) throw new Error('the simulator returned fewer than two settled obligations');
  const pages: KlearRawAnswer[] = [];
  const completion = await completeObligations(
    answer.data.obligations,
    klearDetailPager(client, async (page) => void pages.push(page.raw)),
    async () => false,
  );
  return { answer, pages, completion, entry: completion.entries.get(first.id) ?? first };
}

/**
 * Paging one large obligation's settlement details through the real client against the simulator
 * enforcing tier basic (20 reads/s): pages per second against the tier's limit, and the 429s seen.
 * Pages are walked as ingestion walks them (KlearClient.walkObligationDetails, which klearDetailPager
 * uses): page N+1 is asked for as soon as page N's cursor is read, and each page is kept (its raw
 * answer held, as the archive gets it) while the next one is on its way.
 */
export async function benchPagingAtBasic(world: { subtraders: number; markets: number }, pageLimit: number): Promise<Measurement[]> {
  const sim = await startKlearSimulator({ port: 0, rateLimit: true, tier: 'basic', seed: 8, ...world, days: 2, withdrawalFailureRate: 0 });
  const wire = { sent: 0, rejected: 0 };
  try {
    const client = basicTierClient(sim, 60_000, wire);
    const [entry] = (await client.getObligationHistory({ limit: 1 })).data.obligations;
    const kept: KlearRawAnswer[] = [];
    let pages = 0;
    let rows = 0;
    const start = process.hrtime.bigint();
    for await (const page of client.walkObligationDetails(entry.id, 'settlement_details', { limit: pageLimit })) {
      kept.push(page.raw);
      rows += page.data.settlement_details.length;
      pages++;
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return basicTierUse(
      {
        rate: `ingestion paging at tier basic: ${rows} rows in ${pages} pages of ${pageLimit}`,
        rejected: `ingestion paging: 429 answers in ${wire.sent} requests`,
      },
      pages / seconds,
      'pages/s',
      wire,
    );
  } finally {
    await sim.close();
  }
}

/** The floor: a plain COPY of the obligation's detail rows into a table of the same shape and indexes (dropped after). */
export async function plainCopy(databaseUrl: string, obligation: ObligationEntry): Promise<number> {
  const client = dedicatedPgClient({ connectionString: databaseUrl }, 'bench COPY floor');
  await client.connect();
  try {
    await client.query(`CREATE TABLE bench_copy_floor (LIKE klear_settlement_detail INCLUDING ALL)`);
    const start = process.hrtime.bigint();
    await client.query('BEGIN');
    const stream = client.query(
      copyFrom(
        `COPY bench_copy_floor (obligation_id, id, market_ticker, subtrader_id, pnl_centicents, fees_centicents, total_centicents, cycle) FROM STDIN`,
      ),
    );
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
  const cycle = copyText(obligation.execution_time);
  let buffer = '';
  for (const d of obligation.settlement_details) {
    buffer += `${id}\t${copyText(d.id)}\t${copyText(d.market_ticker)}\t${copyText(d.subtrader_id)}\t${d.pnl_centicents}\t${d.total_fees_centicents}\t${d.total_amount_centicents}\t${cycle}\n`;
    if (buffer.length >= 65_536) {
      yield buffer;
      buffer = '';
    }
  }
  if (buffer) yield buffer;
}
