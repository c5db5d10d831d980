import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { loadConfig } from '@app/config';
import { JobRunner } from '@app/jobs';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { createWorkerApplication } from '@apps/worker';
import { FAST_CLIENT } from './ingestion-world';

/**
 * A small Klear of the test's own, speaking the contract for the two walked histories, where the
 * simulator cannot produce the case (ties split by a page boundary, a correction deep in the history,
 * back-dated and identical balance entries). Its data is plain and mutable: a test edits it between runs.
 */
export type TieRule = 'strict' | 'inclusive';

export interface ContractObligation {
  id: string;
  asset_class: string;
  execution_time: string;
  last_updated_ts: string;
  fees_centicents: bigint;
  pnl_centicents: bigint;
  /** Raw JSON of the header fields, when a test wants a field exactly as Klear would write it. */
  extra?: string;
}

export interface ContractBalanceEntry {
  balance_delta_centicents: bigint;
  locked_balance_delta_centicents: bigint;
  reason: string;
  business_transaction_id: string;
  created_ts: string;
}

export class ContractKlear {
  /** Next page of obligation history: strictly before the date-time cursor, or at and before it. */
  tieRule: TieRule = 'strict';
  obligations: ContractObligation[] = [];
  /** In Klear's order of creation; served most recent first (created_ts, then later-created first). */
  balanceHistory: ContractBalanceEntry[] = [];
  /**
   * Pages after the first start this many entries before their cursor's position (an overlapping page,
   * as a retried or sloppy server sends): the entries repeated are ones the walk already read.
   */
  balancePageOverlap = 0;
  /** Every request's path and query, in order. */
  readonly requests: string[] = [];
  /** Requests answered before it refuses everything (a walk that loops fails instead of hanging). */
  requestBudget = 500;
  /** Awaited before answering the n-th request to arrive (1-based), so a test can hold a run at a known point. */
  beforeAnswer: (request: string, n: number) => Promise<void> | void = () => undefined;
  /** What is sent for a path's answer (e.g. a body cut short): by default the answer as built. */
  reshape: (path: string, body: string) => string = (_path, body) => body;
  private arrived = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<ContractKlear> {
    let klear: ContractKlear | undefined;
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://klear');
      void Promise.resolve(klear!.beforeAnswer(`${url.pathname.replace(/^\/klear-api\/v1/, '')}${url.search}`, ++klear!.arrived)).then(
        () => {
          const answer = klear!.answer(url);
          res.writeHead(answer.status, { 'content-type': 'application/json' });
          res.end(klear!.reshape(url.pathname.replace(/^\/klear-api\/v1/, ''), answer.body));
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    klear = new ContractKlear(server, `http://127.0.0.1:${port}/klear-api/v1`);
    return klear;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  requestsTo(path: string): string[] {
    return this.requests.filter((r) => r.startsWith(path));
  }

  private answer(url: URL): { status: number; body: string } {
    const path = url.pathname.replace(/^\/klear-api\/v1/, '');
    this.requests.push(`${path}${url.search}`);
    if (this.requests.length > this.requestBudget)
      return { status: 400, body: '{"code":"budget","message":"the test server request budget is spent"}' };
    const limit = Number(url.searchParams.get('limit') ?? '20');
    const cursor = url.searchParams.get('cursor') ?? undefined;
    if (path === '/margin/obligation_history') return { status: 200, body: this.obligationPage(limit, cursor) };
    if (path === '/margin/settlement_balance_history') return { status: 200, body: this.balancePage(limit, cursor) };
    return { status: 404, body: '{"code":"not_found","message":"not served by the contract test server"}' };
  }

  /** Most recent first; ties in a stable order (asset class); the cursor is the page's oldest execution_time. */
  private obligationPage(limit: number, cursor: string | undefined): string {
    const ordered = [...this.obligations].sort(
      (a, b) =>
        Date.parse(b.execution_time) - Date.parse(a.execution_time) ||
        (a.asset_class < b.asset_class ? -1 : a.asset_class > b.asset_class ? 1 : 0),
    );
    const bound = cursor === undefined ? undefined : Date.parse(cursor);
    const remaining =
      bound === undefined
        ? ordered
        : ordered.filter((o) => (this.tieRule === 'strict' ? Date.parse(o.execution_time) < bound : Date.parse(o.execution_time) <= bound));
    const page = remaining.slice(0, limit);
    const next = remaining.length > limit ? page[page.length - 1].execution_time : undefined;
    return `{"obligations":[${page.map(obligationJson).join(',')}]${next === undefined ? '' : `,"cursor":${JSON.stringify(next)}`}}`;
  }

  /** Most recent first by created_ts (later-created first among equal times); an opaque keyset cursor. */
  private balancePage(limit: number, cursor: string | undefined): string {
    const ordered = this.balanceHistory
      .map((entry, seq) => ({ entry, seq }))
      .sort((a, b) => Date.parse(b.entry.created_ts) - Date.parse(a.entry.created_ts) || b.seq - a.seq);
    let start = 0;
    if (cursor !== undefined) {
      const [ms, seq] = Buffer.from(cursor, 'base64url').toString().split('/').map(Number);
      start = ordered.findIndex((o) => Date.parse(o.entry.created_ts) < ms || (Date.parse(o.entry.created_ts) === ms && o.seq < seq));
      if (start < 0) start = ordered.length;
      start = Math.max(0, start - this.balancePageOverlap);
    }
    const page = ordered.slice(start, start + limit);
    const last = page[page.length - 1];
    const next =
      start + limit < ordered.length ? Buffer.from(`${Date.parse(last.entry.created_ts)}/${last.seq}`).toString('base64url') : undefined;
    const entries = page.map(
      ({ entry: e }) =>
        `{"balance_delta_centicents":${e.balance_delta_centicents},"locked_balance_delta_centicents":${e.locked_balance_delta_centicents},"reason":${JSON.stringify(e.reason)},"business_transaction_id":${JSON.stringify(e.business_transaction_id)},"created_ts":${JSON.stringify(e.created_ts)}}`,
    );
    return `{"entries":[${entries.join(',')}]${next === undefined ? '' : `,"cursor":"${next}"`}}`;
  }
}

function obligationJson(o: ContractObligation): string {
  const amount = o.pnl_centicents - o.fees_centicents;
  return (
    `{"id":${JSON.stringify(o.id)},"user_id":"member-admin-1","amount_centicents":${amount},"fees_centicents":${o.fees_centicents},` +
    `"maintenance_margin_centicents":0,"pnl_centicents":${o.pnl_centicents},"execution_time":${JSON.stringify(o.execution_time)},` +
    `"last_updated_ts":${JSON.stringify(o.last_updated_ts)},"asset_class":${JSON.stringify(o.asset_class)}${o.extra ?? ''},` +
    `"receives":[],"settlement_details":[],"maintenance_margin_details":[],"funding_payments":[]}`
  );
}

/** One obligation per asset class at each of `instants` execution times, one hour apart back from `newestMs`. */
export function obligationsAt(newestMs: number, instants: number, classes: string[], prefix = 'obl'): ContractObligation[] {
  const out: ContractObligation[] = [];
  for (let i = 0; i < instants; i++) {
    const at = new Date(newestMs - i * 3_600_000).toISOString();
    for (const assetClass of classes) {
      out.push({
        id: `${prefix}-${i}-${assetClass}`,
        asset_class: assetClass,
        execution_time: at,
        last_updated_ts: at,
        fees_centicents: BigInt(100 + i),
        pnl_centicents: BigInt(10_000 * (i + 1)),
      });
    }
  }
  return out;
}

/** A balance history entry at `atMs` (tests). */
export const balanceEntry = (atMs: number, delta: bigint, btid: string, reason = 'settlement_payment'): ContractBalanceEntry => ({
  balance_delta_centicents: delta,
  locked_balance_delta_centicents: 0n,
  reason,
  business_transaction_id: btid,
  created_ts: new Date(atMs).toISOString(),
});

/** `count` entries one minute apart, the newest `newestAgoMs` before now, in Klear's order of creation. */
export function balanceHistory(count: number, newestAgoMs: number): ContractBalanceEntry[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => balanceEntry(now - newestAgoMs - (count - 1 - i) * 60_000, BigInt(1_000 + i), `bt-${i}`));
}

/** The worker (jobs run on demand) over a fresh database and a contract Klear, with production walk settings. */
export class ContractWorld {
  private constructor(
    readonly klear: ContractKlear,
    readonly db: TestDatabase,
    readonly worker: INestApplicationContext,
    private readonly reportsDir: string,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<ContractWorld> {
    const klear = await ContractKlear.start();
    const db = await createTestDatabase();
    const reportsDir = mkdtempSync(join(tmpdir(), 'klear-contract-'));
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATABASE_URL: db.url,
      KLEAR_BASE_URL: klear.url,
      KLEAR_ADMIN_USER_ID: 'member-admin-1',
      KLEAR_ACCESS_TOKEN: 'contract-test-access-token',
      KLEAR_TIER: 'prime',
      // A generous read timeout: a loaded machine is slow, not wrong.
      KLEAR_TIMEOUT_MS: '20000',
      KLEAR_MAX_RETRIES: '0',
      REPORTS_DIR: reportsDir,
      WORKER_JOBS_ENABLED: 'false',
      ...env,
    });
    const worker = await createWorkerApplication(config, { silent: true, klearClient: FAST_CLIENT });
    return new ContractWorld(klear, db, worker, reportsDir);
  }

  /** Runs a job to its end as the given trigger would (a scheduled tick by default). */
  run(job: string, trigger: 'startup' | 'schedule' | 'manual' = 'schedule') {
    return this.worker.get(JobRunner).runToEnd(job, { trigger });
  }

  query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.db.dataSource.query(sql, params) as Promise<T[]>;
  }

  /** How many balance history entries are stored, and the sum of their movements (a decimal string). */
  async storedBalanceTotals(): Promise<{ n: number; sum: string }> {
    const [totals] = await this.query<{ n: number; sum: string }>(
      `SELECT count(*)::int AS n, coalesce(sum(balance_delta_centicents), 0)::text AS sum FROM klear_balance_history`,
    );
    return totals;
  }

  /** The same totals over what this Klear holds. */
  klearBalanceTotals(): { n: number; sum: string } {
    return {
      n: this.klear.balanceHistory.length,
      sum: String(this.klear.balanceHistory.reduce((sum, e) => sum + e.balance_delta_centicents, 0n)),
    };
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.klear.close();
    await this.db.drop();
    rmSync(this.reportsDir, { recursive: true, force: true });
  }
}
