import { completeObligations, type DetailPageFetcher, inTransaction, interpretAnswer, pageByPage } from '@app/ingestion';
import type { ObligationEntry } from '@app/klear-contract';
import { DETAIL_LIST_ENDPOINTS, parseKlearAnswer } from '@app/klear-client';
import { ReconciliationRepository, ReconciliationService } from '@app/reconciliation';
import { startApiWorld, type ApiWorld } from '../support/api-world';
import { SimulatorWorld } from '../klear-sim/simulator-world';
import type { SimulatorOptions } from '@apps/klear-sim';

export { FIRST_DISCREPANCY_KINDS } from '../klear-sim/simulator-world';

export interface FeedEntry {
  external_id: string;
  entry_type: string;
  effective_at: string;
  cycle?: string;
  subtrader_id?: string;
  asset_class?: string;
  business_reference?: string;
  description?: string;
  reverses_external_id?: string;
  postings: Array<{ account: string; market_ticker?: string; amount_centicents: string }>;
}

export interface ExpectedBreak {
  key: string;
  check: string;
  cycle: string;
  asset_class: string;
  reason_code: string;
  klear_value: string | null;
  internal_value: string | null;
  difference: string;
  pnl_difference?: string;
  fees_difference?: string;
}

export interface LedgerFeed {
  cycles: string[];
  entries: FeedEntry[];
  answer_key: { discrepancies: Array<Record<string, string>>; breaks: ExpectedBreak[] };
}

/**
 * An in-process simulator and a real API on a fresh database. Klear data goes in through the
 * ingestion library's own interpretation (the code path of the ingestion jobs) from the
 * simulator's HTTP answers; the ledger goes in through `POST /ledger/entries`.
 */
/** A simulator shaped as the live API: Crypto and Equity, three funding payments a cycle. */
export const TWO_FUNDED_ASSET_CLASSES: Partial<SimulatorOptions> = { fundingPerCycle: 3, assetClasses: 'Crypto,Equity' };

export class SimulatedReconWorld {
  private constructor(
    readonly sim: SimulatorWorld,
    readonly api: ApiWorld,
  ) {}

  /** `api`: the API's environment and wiring (a clock, say), as startApiWorld takes them. */
  static async start(
    options: Partial<SimulatorOptions>,
    api: { env?: Record<string, string>; app?: Parameters<typeof startApiWorld>[1] } = {},
  ): Promise<SimulatedReconWorld> {
    const [sim, context] = await Promise.all([SimulatorWorld.start(options), startApiWorld(api.env, api.app)]);
    return new SimulatedReconWorld(sim, context);
  }

  get reconciliation(): ReconciliationService {
    return this.api.app.get(ReconciliationService);
  }

  get queries(): ReconciliationRepository {
    return this.api.app.get(ReconciliationRepository);
  }

  /**
   * Changes one obligation's rows of a detail table in one transaction, as the summaries' triggers
   * must follow: two rows' `amountColumn` raised by 9,223,372,036, the last row moved to subtrader
   * MOVED, the first row deleted, and `insertSql` ($1 the obligation id) adding a row of MOVED.
   */
  async churnDetails(
    table: 'klear_settlement_detail' | 'klear_funding_payment',
    amountColumn: string,
    obligationId: string,
    insertSql: string,
  ): Promise<void> {
    await this.api.db.dataSource.transaction(async (tx) => {
      await tx.query(
        `UPDATE ${table} SET ${amountColumn} = ${amountColumn} + 9223372036 WHERE obligation_id = $1 AND id IN (SELECT id FROM ${table} WHERE obligation_id = $1 ORDER BY id LIMIT 2)`,
        [obligationId],
      );
      await tx.query(
        `UPDATE ${table} SET subtrader_id = 'MOVED' WHERE obligation_id = $1 AND id = (SELECT max(id) FROM ${table} WHERE obligation_id = $1)`,
        [obligationId],
      );
      await tx.query(`DELETE FROM ${table} WHERE obligation_id = $1 AND id = (SELECT min(id) FROM ${table} WHERE obligation_id = $1)`, [
        obligationId,
      ]);
      await tx.query(insertSql, [obligationId]);
    });
  }

  /** Puts the simulator's version of an obligation back through ingestion: it looks changed (older, another hash), so ingestion rewrites it. */
  async reingestObligation(obligationId: string): Promise<void> {
    await this.api.db.dataSource.query(
      `UPDATE klear_obligation SET last_updated_ts = last_updated_ts - interval '1 second', content_sha256 = 'stale' WHERE id = $1`,
      [obligationId],
    );
    await this.ingestKlear();
  }

  /**
   * Every obligation page and balance-history page the simulator serves now, as ingestion stores
   * them (truncated inline lists completed from the paged endpoints first), and the subtrader groups.
   */
  async ingestKlear(): Promise<void> {
    await this.walk('/margin/obligation_history', 100, 'obligationHistory');
    await this.walk('/margin/settlement_balance_history', 500, 'settlementBalanceHistory');
    const groups = await this.sim.get('/fcm/margin/subtrader_groups');
    if (groups.status !== 200) throw new Error(`subtrader_groups: ${groups.status} ${groups.text}`);
    await inTransaction(this.api.db.dataSource, (tx) =>
      interpretAnswer(tx, 'subtraderGroups', parseKlearAnswer('subtraderGroups', groups.text), '0', new Date()),
    );
  }

  /** Obligation detail pages read from the simulator over HTTP, 1,000 rows a page (the ingestion's page size). */
  private readonly detailPages: DetailPageFetcher = async (obligationId, list, cursor) => {
    const name = DETAIL_LIST_ENDPOINTS[list];
    const answer = await this.sim.get(
      `/margin/obligations/${encodeURIComponent(obligationId)}/${list}?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    if (answer.status !== 200) throw new Error(`${list} of ${obligationId}: ${answer.status} ${answer.text}`);
    const data = parseKlearAnswer(name, answer.text) as unknown as Record<string, unknown> & { cursor?: string | null };
    this.pagesRead += 1;
    return { rows: (data[list] ?? []) as ObligationEntry[typeof list], cursor: data.cursor || undefined };
  };

  /** Detail pages read to complete truncated obligations. */
  pagesRead = 0;

  async ingestEstimate(): Promise<void> {
    const answer = await this.sim.get('/margin/settlement_estimate_by_asset_class');
    if (answer.status !== 200) throw new Error(`settlement_estimate_by_asset_class: ${answer.status} ${answer.text}`);
    await inTransaction(this.api.db.dataSource, (tx) =>
      interpretAnswer(
        tx,
        'settlementEstimateByAssetClass',
        parseKlearAnswer('settlementEstimateByAssetClass', answer.text),
        '0',
        new Date(),
      ),
    );
  }

  private async walk(path: string, limit: number, name: 'obligationHistory' | 'settlementBalanceHistory'): Promise<void> {
    let cursor: string | undefined;
    do {
      const answer = await this.sim.get(`${path}?limit=${limit}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
      if (answer.status !== 200) throw new Error(`${path}: ${answer.status} ${answer.text}`);
      const data = parseKlearAnswer(name, answer.text);
      const completion =
        name === 'obligationHistory'
          ? await completeObligations(
              (data as { obligations: ObligationEntry[] }).obligations,
              pageByPage(this.detailPages),
              async () => false,
            )
          : undefined;
      await inTransaction(this.api.db.dataSource, (tx) => interpretAnswer(tx, name, data as never, '0', new Date(), completion));
      cursor = (data as { cursor?: string }).cursor ?? undefined;
    } while (cursor !== undefined);
  }

  feed(body: Record<string, unknown>): Promise<LedgerFeed> {
    return this.sim.admin('POST', '/ledger-feed', body);
  }

  /** Makes Klear publish figures inconsistent with themselves (before ingestion); the answer key then expects them. */
  klearErrors(errors: Array<Record<string, string>>): Promise<{ errors: Array<Record<string, string>> }> {
    return this.sim.admin('POST', '/klear-errors', { errors });
  }

  async postLedger(entries: FeedEntry[]): Promise<{ created: number; unchanged: number }> {
    let created = 0;
    let unchanged = 0;
    for (let i = 0; i < entries.length; i += 5_000) {
      const res = await this.api
        .http()
        .post('/ledger/entries')
        .set('authorization', `Bearer ${this.api.tokens.operator}`)
        .send({ entries: entries.slice(i, i + 5_000) });
      if (res.status !== 200) throw new Error(`POST /ledger/entries: ${res.status} ${JSON.stringify(res.body).slice(0, 2000)}`);
      created += res.body.created;
      unchanged += res.body.unchanged;
    }
    return { created, unchanged };
  }

  /** The run's breaks in the answer key's shape and order. */
  async breaksOf(
    runId: string,
    checks = ['settlement_details', 'maintenance_margin', 'funding', 'settlement_buffer', 'klear_consistency'],
  ): Promise<ExpectedBreak[]> {
    const rows = await this.queries.runBreaks(runId, { limit: 100_000 });
    const run = await this.queries.getRun(runId);
    const cycle = run.cycle!.toISOString().replace('.000Z', 'Z');
    return rows
      .filter((r) => checks.includes(r.check))
      .map((r) => ({
        key: r.break_key,
        check: r.check,
        cycle,
        asset_class: run.asset_class!,
        reason_code: r.reason_code,
        klear_value: r.klear_value_centicents,
        internal_value: r.internal_value_centicents,
        difference: r.difference_centicents,
        ...(r.check === 'settlement_details'
          ? { pnl_difference: r.pnl_difference_centicents!, fees_difference: r.fees_difference_centicents! }
          : {}),
      }));
  }

  async close(): Promise<void> {
    await Promise.all([this.sim.close(), this.api.close()]);
  }
}

/** The answer key's breaks of one cycle (of one asset class when named), without fields it leaves undefined. */
export function expectedFor(feed: LedgerFeed, cycle: string, assetClass?: string): ExpectedBreak[] {
  return feed.answer_key.breaks
    .filter((b) => b.cycle === cycle && (assetClass === undefined || b.asset_class === assetClass))
    .map((b) => JSON.parse(JSON.stringify(b)) as ExpectedBreak);
}
