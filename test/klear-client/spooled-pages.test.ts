import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { KlearClient, KlearSchemaError, KlearSpoolError, isKlearOutageError, isRetryableKlearError } from '@app/klear-client';
import { klearDetailPager } from '@app/ingestion';
import { openFilesUnder } from '../support/open-files';

const CAP = 8 * 1024;
const ROWS = 200;

/** A settlement detail row as the contract has it (~190 bytes): 200 of them are far past the 8 KiB cap. */
const row = (page: number, i: number, total = '-1500') =>
  `{"id":"sd-${page}-${i}","market_ticker":"MKT-${i}","subtrader_id":"st-${i % 7}","position_quantity_fp":"12.50",` +
  `"pnl_centicents":-1000,"total_fees_centicents":-500,"total_amount_centicents":${total}}`;

/**
 * A Klear serving one obligation's settlement details in `pages` pages (cursor "p2", "p3", ...), each
 * page past the client's buffer cap. `broken`: that page holds a row breaking the contract; `cut`: that
 * page stops inside its list (a complete HTTP answer whose body is not one JSON object).
 */
class DetailPagesKlear {
  readonly asked: string[] = [];
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** Each answer's body as sent, in order. */
  readonly sent: string[] = [];

  static async start(pages: number, { broken, cut }: { broken?: number; cut?: number } = {}): Promise<DetailPagesKlear> {
    let klear: DetailPagesKlear | undefined;
    const server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://klear');
      klear?.asked.push(url.searchParams.get('cursor') ?? 'first');
      const page = Number((url.searchParams.get('cursor') ?? 'p1').slice(1));
      const rows = Array.from({ length: ROWS }, (_, i) => row(page, i, page === broken && i === 150 ? '"-1500"' : '-1500'));
      const cursor = page < pages ? `"p${page + 1}"` : 'null';
      const body = `{"settlement_details":[${rows.join(',')}],"cursor":${cursor}}`;
      klear?.sent.push(page === cut ? body.slice(0, Math.floor(body.length / 2)) : body);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(klear?.sent.at(-1));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    klear = new DetailPagesKlear(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return klear;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let spoolDir: string;
let klear: DetailPagesKlear | undefined;
beforeEach(() => {
  spoolDir = mkdtempSync(join(tmpdir(), 'klear-spooled-pages-'));
});
afterEach(async () => {
  await klear?.close();
  klear = undefined;
  rmSync(spoolDir, { recursive: true, force: true });
});

const client = (url: string, dir = spoolDir, faults: { maxRetries?: number; breakerThreshold?: number } = {}) =>
  new KlearClient({
    baseUrl: url,
    credentials: { mode: 'bearer', adminUserId: 'member-admin-1', accessToken: 'spool-test-token' },
    tier: 'prime',
    timeoutMs: 20_000,
    maxRetries: faults.maxRetries ?? 0,
    retryInitialDelayMs: 1,
    retryMaxDelayMs: 1,
    breakerThreshold: faults.breakerThreshold,
    maxBufferBytes: CAP,
    spoolDir: dir,
  });

const openInSpool = () => openFilesUnder(spoolDir).map((file) => file.target);

/** Waits, in event-loop turns (not time; bounded), until `count` spool files are open; answers how many are. */
async function untilOpen(count: number): Promise<number> {
  for (let turn = 0; turn < 100_000 && openInSpool().length !== count; turn++) await new Promise((resolve) => setImmediate(resolve));
  return openInSpool().length;
}

/** Lets the closes queued on libuv's pool finish; answers what is still open. */
async function settled(): Promise<string[]> {
  await untilOpen(0);
  return openInSpool();
}

/** Walks three detail pages (one of them `broken` or `cut`) through the pager: the rows of each page handed over, and what failed the walk. */
async function walkThreePages(fault: { broken?: number; cut?: number }): Promise<{ pages: number[]; failure: unknown }> {
  klear = await DetailPagesKlear.start(3, fault);
  const walk = klearDetailPager(client(klear.url), async () => undefined);
  const pages: number[] = [];
  const failure = await (async () => {
    for await (const page of walk('obl-1', 'settlement_details')) pages.push(page.rows.length);
  })().catch((error: unknown) => error);
  return { pages, failure };
}

describe('Detail pages past the buffer cap', () => {
  it('are walked to the last page, each parsed from disk with its cursor, and each closed once kept', async () => {
    klear = await DetailPagesKlear.start(3);
    const kept: Array<{ rows: number; size: number; open: number }> = [];
    const walk = klearDetailPager(client(klear.url), async (answer, rows) => {
      kept.push({ rows, size: answer.raw.spooledBody?.size ?? 0, open: openInSpool().length });
    });
    const ids: string[] = [];
    for await (const page of walk('obl-1', 'settlement_details')) ids.push(...page.rows.map((r) => (r as { id: string }).id));
    expect(klear.asked).toEqual(['first', 'p2', 'p3']);
    expect(ids).toHaveLength(3 * ROWS);
    expect(new Set(ids).size).toBe(3 * ROWS);
    // Each page was on disk while kept (one descriptor, no name) and past the cap.
    expect(kept.map((k) => ({ rows: k.rows, open: k.open }))).toEqual(Array(3).fill({ rows: ROWS, open: 1 }));
    expect(kept.every((k) => k.size > 4 * CAP)).toBe(true);
    expect(await settled()).toEqual([]);
    expect(readdirSync(spoolDir)).toEqual([]);
  });

  it('breaking the contract fail the walk naming the row, and are closed (not left to the garbage collector)', async () => {
    const { pages, failure } = await walkThreePages({ broken: 2 });
    expect(pages).toEqual([ROWS]);
    expect(failure).toBeInstanceOf(KlearSchemaError);
    expect((failure as KlearSchemaError).message).toMatch(/settlement_details\[150\]\.total_amount_centicents/);
    expect((failure as KlearSchemaError).rawSpooledBody?.closed).toBe(true);
    expect(await settled()).toEqual([]);
  });

  it('cut short fail the walk as a contract error (not JSON), and are closed', async () => {
    const { pages, failure } = await walkThreePages({ cut: 2 });
    expect(pages).toEqual([ROWS]);
    expect(failure).toBeInstanceOf(KlearSchemaError);
    expect((failure as KlearSchemaError).issues).toEqual([
      { path: '', message: 'not JSON (the spooled body is not one complete JSON object)' },
    ]);
    expect((failure as KlearSchemaError).rawSpooledBody?.closed).toBe(true);
    expect(await settled()).toEqual([]);
  });

  it('cut short, read alone, leave the caller a contract error holding the body as sent, to archive', async () => {
    klear = await DetailPagesKlear.start(1, { cut: 1 });
    const failure = await client(klear.url)
      .getObligationSettlementDetails('obl-1')
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(KlearSchemaError);
    expect((failure as KlearSchemaError).message).toMatch(/answered 200 with a body that does not match the contract: .*not JSON/);
    const body = (failure as KlearSchemaError).rawSpooledBody!;
    expect(body.closed).toBe(false);
    const chunks: Buffer[] = [];
    for await (const chunk of body.chunks(4096)) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString('utf8')).toBe(klear.sent[0]);
    expect(klear.sent[0].length).toBeGreaterThan(2 * CAP);
    await body.close();
    expect(await settled()).toEqual([]);
  });

  it('read ahead by a walk its reader stopped are closed', async () => {
    klear = await DetailPagesKlear.start(3);
    const c = client(klear.url);
    const walk = c.walkObligationDetails('obl-1', 'settlement_details');
    const first = await walk.next();
    expect(first.done).toBe(false);
    await first.value?.raw.spooledBody?.close();
    // Page 2, asked for before page 1 was handed over, is being (or has been) spooled: one file open.
    expect(await untilOpen(1)).toBe(1);
    expect(klear.asked).toEqual(['first', 'p2']);
    await walk.return(undefined);
    expect(await settled()).toEqual([]);
  });
});

describe('A spool directory that cannot be written', () => {
  it('fails the read with a spool error: neither retried nor counted as a Klear outage', async () => {
    klear = await DetailPagesKlear.start(1);
    const notADirectory = join(spoolDir, 'a-file');
    writeFileSync(notADirectory, '');
    // Retries allowed and a breaker that opens after two outages: a spool failure uses neither.
    const reader = client(klear.url, join(notADirectory, 'spool'), { maxRetries: 2, breakerThreshold: 2 });
    const failures: unknown[] = [];
    for (let i = 0; i < 3; i++) failures.push(await reader.getObligationSettlementDetails('obl-1').catch((error: unknown) => error));
    const [failure] = failures;
    expect(failures.every((f) => f instanceof KlearSpoolError)).toBe(true);
    expect((failure as KlearSpoolError).message).toBe(
      'the answer of Klear GET /margin/obligations/{obligation_id}/settlement_details could not be spooled to KLEAR_SPOOL_DIR (ENOTDIR)',
    );
    expect({ retried: isRetryableKlearError(failure), outage: isKlearOutageError(failure) }).toEqual({ retried: false, outage: false });
    expect(klear.asked).toEqual(['first', 'first', 'first']);
    expect(reader.circuitState).toBe('closed');
  });
});
