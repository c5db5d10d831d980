import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { ReconciliationSummaries } from '@app/reconciliation';
import { expectedFor, SimulatedReconWorld, TWO_FUNDED_ASSET_CLASSES, type FeedEntry, type LedgerFeed } from './simulated-recon-world';

/*
 * The funding check reads per-(obligation, subtrader) and per-(cycle, asset class, subtrader)
 * summaries maintained by triggers (migration FundingSummaries) and examines market by market only
 * the subtraders whose summaries differ, as the settlement-details check does. These tests hold the
 * funding summaries to their source rows, show that a per-market error the totals cannot see is
 * still found exactly, and that a drifted summary fails the run instead of hiding a break.
 */
describe('funding summaries', () => {
  jest.setTimeout(300_000);
  let fixture: SimulatedReconWorld;
  let feed: LedgerFeed;
  let summaries: ReconciliationSummaries;
  const sql = (text: string, params: unknown[] = []) =>
    fixture.api.db.dataSource.query(text, params) as Promise<Array<Record<string, string>>>;
  const fundingBreaks = async (cycle: string, assetClass: string) =>
    fixture.breaksOf((await fixture.reconciliation.start({ cycle: new Date(cycle), assetClass }, 'test')).runId, ['funding']);

  beforeAll(async () => {
    fixture = await SimulatedReconWorld.start({ seed: 23, subtraders: 8, markets: 6, days: 2, ...TWO_FUNDED_ASSET_CLASSES });
    await fixture.ingestKlear();
    feed = await fixture.feed({ discrepancies: [{ kind: 'wrong_funding', subtrader_id: 'ST-00003' }] });
    await fixture.postLedger(feed.entries);
    summaries = fixture.api.app.get(ReconciliationSummaries);
  });
  afterAll(() => fixture?.close());

  it('holds exactly the figures recomputed from the ingested funding payments and the posted funding entries, per asset class', async () => {
    const [counts] = await sql(
      `SELECT (SELECT count(*) FROM klear_funding_summary)::int AS k, (SELECT count(*) FROM ledger_funding_summary)::int AS l,
              (SELECT count(DISTINCT asset_class) FROM ledger_funding_summary)::int AS classes`,
    );
    expect(counts.k).toBeGreaterThan(0);
    expect(counts.l).toBeGreaterThan(0);
    expect(counts.classes).toBe(2);
    expect(await summaries.verify()).toEqual([]);
    // The summaries agree with what the funding check finds: exactly the answer key's funding breaks.
    for (const cycle of feed.cycles) {
      for (const assetClass of ['Crypto', 'Equity']) {
        expect({ cycle, assetClass, breaks: await fundingBreaks(cycle, assetClass) }).toEqual({
          cycle,
          assetClass,
          breaks: expectedFor(feed, cycle, assetClass).filter((b) => b.check === 'funding'),
        });
      }
    }
  });

  it('follows Klear funding payments through update (amount and subtrader), delete and insert', async () => {
    const [{ obligation_id: id }] = await sql(`SELECT obligation_id FROM klear_funding_payment ORDER BY obligation_id LIMIT 1`);
    await fixture.churnDetails(
      'klear_funding_payment',
      'funding_amount_centicents',
      id,
      `INSERT INTO klear_funding_payment (obligation_id, id, market_ticker, subtrader_id, funding_time, position_quantity_fp, notional_value_centicents, funding_amount_centicents)
       VALUES ($1, 'extra-1', 'NEW-MKT', 'MOVED', now(), 1, 0, -5)`,
    );
    expect(await summaries.verify()).toEqual([]);
    const [moved] = await sql(
      `SELECT payment_count::text, funding_centicents::text FROM klear_funding_summary WHERE obligation_id = $1 AND subtrader_id = 'MOVED'`,
      [id],
    );
    expect(moved.payment_count).toBe('2');
    await sql(`DELETE FROM klear_funding_payment WHERE obligation_id = $1 AND subtrader_id = 'MOVED'`, [id]);
    expect(await sql(`SELECT 1 FROM klear_funding_summary WHERE obligation_id = $1 AND subtrader_id = 'MOVED'`, [id])).toEqual([]);
    // Put the simulator's version back through ingestion (a changed obligation).
    await fixture.reingestObligation(id);
    expect(await summaries.verify()).toEqual([]);
  });

  it('finds funding booked on the wrong market (+1 on one, -1 on another: the subtrader total unchanged) as two exact breaks', async () => {
    const cycle = feed.cycles[1];
    const markets = (e: FeedEntry) => [...new Set(e.postings.filter((p) => p.account === 'funding').map((p) => p.market_ticker!))];
    // A subtrader funded on two markets or more of the cycle, with no funding break of its own.
    const entry = feed.entries.find(
      (e) =>
        e.cycle === cycle &&
        e.entry_type === 'funding_payment' &&
        e.subtrader_id !== 'ST-00003' &&
        (e.asset_class ?? 'Crypto') === 'Crypto' &&
        markets(e).length >= 2,
    )!;
    expect(entry).toBeDefined();
    const [a, b] = markets(entry);
    const before = await fundingBreaks(cycle, 'Crypto');
    const moved: FeedEntry = {
      external_id: `funding/moved/${cycle}`,
      entry_type: 'adjustment',
      effective_at: cycle,
      cycle,
      subtrader_id: entry.subtrader_id,
      asset_class: 'Crypto',
      postings: [
        { account: 'funding', market_ticker: a, amount_centicents: '1' },
        { account: 'funding', market_ticker: b, amount_centicents: '-1' },
      ],
    };
    await fixture.postLedger([moved]);
    expect(await summaries.verify()).toEqual([]);
    const after = await fundingBreaks(cycle, 'Crypto');
    const added = after.filter((x) => !before.some((y) => y.key === x.key));
    expect(added.map((x) => [x.key, x.difference]).sort()).toEqual(
      [
        [`funding/${cycle}/${entry.subtrader_id}/${a}`, '-1'],
        [`funding/${cycle}/${entry.subtrader_id}/${b}`, '1'],
      ].sort(),
    );
  });

  it('reports a funding summary that drifted from its source rows, fails the run on the explainability check, and rebuilds', async () => {
    const cycle = feed.cycles[0];
    const [row] = await sql(
      `SELECT subtrader_id FROM ledger_funding_summary WHERE cycle = $1 AND asset_class = 'Equity' ORDER BY subtrader_id LIMIT 1`,
      [new Date(cycle)],
    );
    // As a restore that bypassed the triggers could leave it.
    await sql(
      `UPDATE ledger_funding_summary SET funding_centicents = funding_centicents + 7 WHERE cycle = $1 AND asset_class = 'Equity' AND subtrader_id = $2`,
      [new Date(cycle), row.subtrader_id],
    );
    const differences = await summaries.verify();
    expect(differences).toHaveLength(1);
    expect(differences[0]).toMatchObject({
      table: 'ledger_funding_summary',
      scope: `${cycle.replace('Z', '.000Z')}/Equity`,
      subtrader_id: row.subtrader_id,
    });
    expect(BigInt(differences[0].stored![1]) - BigInt(differences[0].recomputed![1])).toBe(7n);
    await expect(fixture.reconciliation.start({ cycle: new Date(cycle), assetClass: 'Equity' }, 'test')).rejects.toThrow(/explain/i);

    const rebuilt = await summaries.rebuild('test');
    expect(rebuilt).toMatchObject({ differences_before: 1 });
    expect(rebuilt.klear_funding_rows).toBeGreaterThan(0);
    expect(await summaries.verify()).toEqual([]);
    expect(await fundingBreaks(cycle, 'Equity')).toEqual(expectedFor(feed, cycle, 'Equity').filter((b) => b.check === 'funding'));
  });
});
