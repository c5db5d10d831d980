import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { expectedFor, SimulatedReconWorld, type FeedEntry, type LedgerFeed } from './simulated-recon-world';

/*
 * Every reconciliation run is per asset class (docs/ledger-and-breaks.md, "A run, its inputs and its
 * breaks"): a two-class world (Crypto and Equity, the same subtraders in both) reconciled one run
 * per (cycle, class), each finding exactly its answer-key breaks; and the attack: entries booked in
 * one class that would cancel another class's differences explain nothing there.
 */
describe('reconciliation runs per asset class', () => {
  jest.setTimeout(300_000);
  let fixture: SimulatedReconWorld;
  let feed: LedgerFeed;
  const CLASSES = ['Crypto', 'Equity'];
  const SUBTRADER = 'ST-00002';
  const CRYPTO_MARKET = 'CRY-PERP-001';

  beforeAll(async () => {
    fixture = await SimulatedReconWorld.start({ seed: 57, subtraders: 6, markets: 4, days: 1, assetClasses: 'Crypto,Equity' });
    await fixture.ingestKlear();
    feed = await fixture.feed({
      discrepancies: [
        { kind: 'pnl_off_by_one', subtrader_id: SUBTRADER, market_ticker: CRYPTO_MARKET },
        { kind: 'wrong_margin', subtrader_id: SUBTRADER, asset_class: 'Crypto' },
        { kind: 'pnl_off_by_one', subtrader_id: 'ST-00004', market_ticker: 'EQU-PERP-002' },
      ],
    });
    await fixture.postLedger(feed.entries);
  });
  afterAll(() => fixture?.close());

  const runAll = async () => {
    const runs = new Map<string, string>();
    for (const cycle of feed.cycles) {
      for (const assetClass of CLASSES)
        runs.set(`${cycle} ${assetClass}`, (await fixture.reconciliation.start({ cycle: new Date(cycle), assetClass }, 'test')).runId);
    }
    return runs;
  };

  it('finds in each (cycle, asset class) run exactly the answer key breaks of that class', async () => {
    const runs = await runAll();
    const classes = new Set(feed.answer_key.breaks.map((b) => b.asset_class));
    expect(classes).toEqual(new Set(CLASSES));
    for (const cycle of feed.cycles) {
      for (const assetClass of CLASSES) {
        const breaks = await fixture.breaksOf(runs.get(`${cycle} ${assetClass}`)!);
        expect({ cycle, assetClass, breaks }).toEqual({ cycle, assetClass, breaks: expectedFor(feed, cycle, assetClass) });
      }
    }
  });

  it('explains nothing in one class with entries of another: a crafted Equity booking that cancels a Crypto difference leaves both breaks', async () => {
    const cycle = feed.answer_key.discrepancies.find((d) => d.kind === 'wrong_margin')!.cycle;
    expect(feed.answer_key.discrepancies.find((d) => d.kind === 'pnl_off_by_one')!.cycle).toBe(cycle);
    // What the Crypto run reports: the ledger's PnL one centicent over Klear's, the margin 10,000 over.
    const before = await fixture.breaksOf(
      (await fixture.reconciliation.start({ cycle: new Date(cycle), assetClass: 'Crypto' }, 'test')).runId,
    );
    const pnlKey = `settlement_details/${cycle}/${SUBTRADER}/${CRYPTO_MARKET}`;
    const marginKey = `maintenance_margin/${cycle}/${SUBTRADER}`;
    expect(before.find((b) => b.key === pnlKey)).toMatchObject({ difference: '-1', reason_code: 'amount_mismatch' });
    expect(before.find((b) => b.key === marginKey)).toMatchObject({ difference: '-10000' });

    // Someone books, in Equity, exactly the negation: summed over every class the books would agree with Klear.
    const crafted: FeedEntry[] = [
      {
        external_id: `crafted/${cycle}/pnl`,
        entry_type: 'adjustment',
        effective_at: cycle,
        cycle,
        subtrader_id: SUBTRADER,
        asset_class: 'Equity',
        description: 'cancels a Crypto difference from another class',
        postings: [
          { account: 'trading_pnl', market_ticker: CRYPTO_MARKET, amount_centicents: '-1' },
          { account: 'klear_settlement', amount_centicents: '1' },
        ],
      },
      {
        external_id: `crafted/${cycle}/margin`,
        entry_type: 'margin_requirement',
        effective_at: cycle,
        cycle,
        subtrader_id: SUBTRADER,
        asset_class: 'Equity',
        description: 'cancels a Crypto margin difference from another class',
        postings: [
          { account: 'maintenance_margin', amount_centicents: '-10000' },
          { account: 'maintenance_margin_contra', amount_centicents: '10000' },
        ],
      },
    ];
    await fixture.postLedger(crafted);

    const crypto = await fixture.breaksOf(
      (await fixture.reconciliation.start({ cycle: new Date(cycle), assetClass: 'Crypto' }, 'test')).runId,
    );
    expect(crypto).toEqual(before);
    const equityRun = await fixture.reconciliation.start({ cycle: new Date(cycle), assetClass: 'Equity' }, 'test');
    const equity = await fixture.breaksOf(equityRun.runId);
    // The same keys, in Equity's scope: two other breaks, never one break explained away.
    expect(equity.find((b) => b.key === pnlKey)).toMatchObject({
      asset_class: 'Equity',
      reason_code: 'missing_klear',
      klear_value: null,
      difference: '1',
    });
    expect(equity.find((b) => b.key === marginKey)).toMatchObject({ asset_class: 'Equity', difference: '10000' });
    const stored = await fixture.api.db.dataSource.query(
      `SELECT scope_key, asset_class FROM recon_break WHERE break_key = $1 ORDER BY asset_class`,
      [pnlKey],
    );
    expect(stored).toEqual([
      { scope_key: `cycle/${cycle}/Crypto`, asset_class: 'Crypto' },
      { scope_key: `cycle/${cycle}/Equity`, asset_class: 'Equity' },
    ]);
    // Explainability held per class: each run succeeded with its own totals.
    const summary = (await fixture.queries.getRun(equityRun.runId)).summary as { settlement_details_totals: Record<string, string> };
    expect(BigInt(summary.settlement_details_totals.klear_total) - BigInt(summary.settlement_details_totals.internal_total)).toBe(
      BigInt(summary.settlement_details_totals.break_difference) + BigInt(summary.settlement_details_totals.tolerated_difference),
    );
  });
});
