// Issue 18: the cost of a read route is its SQL round trips. Each main read route issues a fixed,
// small number of statements per request, whatever the history behind it: more reconciliation runs,
// more audit rows, more ledger entries (one past the page's posting budget among them). Statements
// are counted as the API's own DataSource sends them (test/support/statement-counter.ts), for the
// measured request only (a warm-up authenticated request before it pays whatever a cold token costs).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditService } from '@app/audit';
import { systemClock } from '@app/clock';
import { tradeSettlement } from '../ledger/ledger-factory';
import { countStatements } from '../support/statement-counter';
import { SimulatedReconWorld } from './simulated-recon-world';

/** Counts the statements the API's DataSource sends while `work` runs. */
async function statementsOf(fixture: SimulatedReconWorld, work: () => Promise<unknown>): Promise<number> {
  const counter = countStatements(fixture.api.app);
  counter.reset();
  await work();
  return counter.statements.length;
}

describe('read routes: statements per request independent of history', () => {
  let fixture: SimulatedReconWorld;
  let runId: string;
  let cycle: string;
  const viewer = () => `Bearer ${fixture.api.tokens.viewer}`;

  const routes = () => [
    '/ledger/entries?subtrader=ST-BIG',
    '/ledger/entries?external_id=BIG-1',
    '/ledger/entries?limit=50',
    '/subtraders',
    `/reconciliations/${runId}/breaks`,
    '/obligations',
    '/withdrawals',
    '/settlement/balance/history',
    '/audit',
  ];

  /** Statements of one GET of each route, after a warm-up authenticated request (and, for /audit, a warm-up read). */
  async function measure(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const path of routes()) {
      if (path === '/audit') await fixture.api.http().get(path).set('authorization', viewer()).expect(200);
      await fixture.api.http().get('/settlement/balance').set('authorization', viewer());
      counts[path] = await statementsOf(fixture, async () => {
        const res = await fixture.api.http().get(path).set('authorization', viewer());
        expect({ path, status: res.status }).toEqual({ path, status: 200 });
      });
    }
    return counts;
  }

  /** Another reconciliation run of the cycle (its observations are more history of the same partition). */
  async function rerun(): Promise<string> {
    const res = await fixture.api
      .http()
      .post('/reconciliations')
      .set('authorization', `Bearer ${fixture.api.tokens.operator}`)
      .send({ cycle });
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  beforeAll(async () => {
    fixture = await SimulatedReconWorld.start({ seed: 18, subtraders: 6, markets: 4, days: 2 });
    await fixture.ingestKlear();
    const feed = await fixture.feed({ discrepancies: [{ kind: 'pnl_off_by_one' }, { kind: 'wrong_margin' }] });
    cycle = feed.answer_key.discrepancies[0].cycle;
    await fixture.postLedger(feed.entries);
    await fixture.api
      .http()
      .post('/ledger/entries')
      .set('authorization', `Bearer ${fixture.api.tokens.operator}`)
      .send({ entries: [tradeSettlement('BIG-0', 'ST-BIG', [{ ticker: 'M-0', pnl: 10n, fee: 1n }])] })
      .expect(200);
    runId = await rerun();
  }, 180_000);
  afterAll(() => fixture?.close());

  it('issues the same few statements per route before and after history grows', async () => {
    const before = await measure();

    // History grows: more runs of the cycle, 250 audit rows (past a checkpoint), and an entry of
    // 461 postings (past the page budget alone: the first page of ST-BIG is it alone).
    for (let i = 0; i < 3; i++) await rerun();
    const audit = new AuditService(fixture.api.db.dataSource, null, systemClock);
    for (let i = 0; i < 250; i++) await audit.record({ actor: 'bench', action: 'thing.done', entityType: 'thing', entityId: `t${i}` });
    const markets = Array.from({ length: 230 }, (_, i) => ({ ticker: `M-${i}`, pnl: BigInt(i + 1), fee: 1n }));
    const big = await fixture.api
      .http()
      .post('/ledger/entries')
      .set('authorization', `Bearer ${fixture.api.tokens.operator}`)
      .send({ entries: [tradeSettlement('BIG-1', 'ST-BIG', markets), tradeSettlement('BIG-2', 'ST-BIG', markets)] });
    expect(big.status).toBe(200);
    // The budget: BIG-0 (3 postings) and BIG-1 (461) do not fit 400 together; BIG-1 alone is listed whole.
    const listed = async (cursor?: string) => {
      const res = await fixture.api
        .http()
        .get('/ledger/entries')
        .query({ subtrader: 'ST-BIG', ...(cursor ? { cursor } : {}) })
        .set('authorization', viewer());
      const body = res.body as { data: Array<{ external_id: string; postings: unknown[] }>; next_cursor: string | null };
      return { entries: body.data.map((e) => [e.external_id, e.postings.length]), next: body.next_cursor };
    };
    const page1 = await listed();
    expect(page1.entries).toEqual([['BIG-0', 3]]);
    const page2 = await listed(page1.next!);
    expect(page2.entries).toEqual([['BIG-1', 461]]);
    expect((await listed(page2.next!)).entries).toEqual([['BIG-2', 461]]);

    const after = await measure();
    expect(after).toEqual(before);
    // What authentication costs a warm request: GET /settlement/balance less its one statement.
    await fixture.api.http().get('/settlement/balance').set('authorization', viewer());
    const auth = (await statementsOf(fixture, () => fixture.api.http().get('/settlement/balance').set('authorization', viewer()))) - 1;
    const own = Object.fromEntries(Object.entries(after).map(([path, n]) => [path, n - auth]));
    expect(own).toEqual({
      '/ledger/entries?subtrader=ST-BIG': 1,
      '/ledger/entries?external_id=BIG-1': 1,
      '/ledger/entries?limit=50': 1,
      '/subtraders': 1,
      // the run's cycle, then its observations from that cycle's partition, named in the statement so that
      // only that partition is planned (ReconciliationRepository.runBreaks)
      [`/reconciliations/${runId}/breaks`]: 2,
      '/obligations': 1,
      '/withdrawals': 1,
      '/settlement/balance/history': 1,
      // the chain from its checkpoint (the newest checkpoints, one read of the rows), the first page taken
      // from the end of that read (AuditService.newestWithChain)
      '/audit': 2,
    });
  }, 180_000);
});
