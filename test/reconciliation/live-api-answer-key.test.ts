import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { expectedFor, SimulatedReconWorld, TWO_FUNDED_ASSET_CLASSES, type LedgerFeed } from './simulated-recon-world';

/*
 * Answer-key equality on the live API's world: two asset classes, inline lists cut at 1,000 rows
 * (completed from the paged endpoints over HTTP before storing), funding three times a cycle, and
 * every third subtrader in a netted group of four (one margin row per group and class).
 */
describe('reconciliation of the live API world against the simulator answer key', () => {
  // Obligations of 1,200 details and ~2,700 funding rows each: a deadline for a hang, not a speed target.
  jest.setTimeout(300_000);
  let fixture: SimulatedReconWorld;
  let feed: LedgerFeed;
  /** Run ids by `${cycle} ${asset class}`: every cycle is reconciled once per asset class. */
  const runs = new Map<string, string>();
  const ASSET_CLASSES = ['Crypto', 'Equity'];
  const discrepancies = [
    { kind: 'missing_funding' },
    { kind: 'wrong_funding', subtrader_id: 'ST-00002' },
    // ST-00001 is in a netted group: the extra requirement shows on its group, not on itself.
    { kind: 'wrong_margin', subtrader_id: 'ST-00001' },
    { kind: 'wrong_margin', subtrader_id: 'ST-00005' },
    { kind: 'pnl_off_by_one', subtrader_id: 'ST-00008', market_ticker: 'EQU-PERP-002' },
    { kind: 'missing_fee', subtrader_id: 'ST-00011' },
  ];

  beforeAll(async () => {
    fixture = await SimulatedReconWorld.start({
      seed: 31,
      subtraders: 60,
      markets: 40,
      days: 3,
      marginGroups: true,
      ...TWO_FUNDED_ASSET_CLASSES,
    });
    await fixture.ingestKlear();
    feed = await fixture.feed({ discrepancies });
    await fixture.postLedger(feed.entries);
    for (const cycle of feed.cycles) {
      for (const assetClass of ASSET_CLASSES)
        runs.set(`${cycle} ${assetClass}`, (await fixture.reconciliation.start({ cycle: new Date(cycle), assetClass }, 'test')).runId);
    }
  });
  afterAll(() => fixture?.close());

  it('stores every obligation whole: the cut inline lists were completed from their pages before storing', async () => {
    expect(fixture.pagesRead).toBeGreaterThan(0);
    const held = await fixture.api.db.dataSource.query(
      `SELECT o.asset_class, o.completed_lists, (SELECT count(*)::int FROM klear_settlement_detail d WHERE d.obligation_id = o.id) AS details
         FROM klear_obligation o ORDER BY o.id`,
    );
    expect(held).toHaveLength(2 * feed.cycles.length);
    for (const o of held) {
      expect(o.details).toBe(1_200);
      expect(o.completed_lists).toEqual(expect.arrayContaining(['settlement_details', 'funding_payments']));
    }
    expect(new Set(held.map((o: { asset_class: string }) => o.asset_class))).toEqual(new Set(['Crypto', 'Equity']));
  });

  it('reports exactly the answer key breaks of every cycle: funding, group margins, both asset classes', async () => {
    const checks = new Set(feed.answer_key.breaks.map((b) => b.check));
    expect(checks).toEqual(new Set(['funding', 'maintenance_margin', 'settlement_details']));
    expect(feed.answer_key.breaks.some((b) => b.key.includes('/group/GRP-0001'))).toBe(true);
    expect(feed.answer_key.breaks.some((b) => b.key.endsWith('/ST-00005'))).toBe(true);
    expect(feed.answer_key.breaks.some((b) => b.key.includes('/EQU-PERP-'))).toBe(true);
    expect(feed.answer_key.breaks.some((b) => b.key.includes('/CRY-PERP-'))).toBe(true);
    for (const cycle of feed.cycles) {
      for (const assetClass of ASSET_CLASSES) {
        const breaks = await fixture.breaksOf(runs.get(`${cycle} ${assetClass}`)!);
        expect({ cycle, assetClass, breaks }).toEqual({ cycle, assetClass, breaks: expectedFor(feed, cycle, assetClass) });
      }
    }
    // Each class's run finds its own: the Equity market's break only in Equity's, ST-00005's margin only in Crypto's.
    const equity = feed.answer_key.breaks.filter((b) => b.asset_class === 'Equity');
    expect(equity.length).toBeGreaterThan(0);
    expect(equity.every((b) => !b.key.includes('/CRY-PERP-'))).toBe(true);
    expect(feed.answer_key.breaks.filter((b) => b.key.includes('/EQU-PERP-')).every((b) => b.asset_class === 'Equity')).toBe(true);
  });

  it('refuses a run of a two-class cycle that names no asset class, and keeps one scope per class', async () => {
    await expect(fixture.reconciliation.start({ cycle: new Date(feed.cycles[0]) }, 'test')).rejects.toMatchObject({
      code: 'SEVERAL_ASSET_CLASSES',
    });
    const scopes = await fixture.api.db.dataSource.query(
      `SELECT DISTINCT scope_key, asset_class FROM recon_run WHERE scope = 'cycle' ORDER BY 1`,
    );
    expect(scopes).toHaveLength(feed.cycles.length * 2);
    for (const s of scopes) expect(s.scope_key.endsWith(`/${s.asset_class}`)).toBe(true);
  });

  it('finds Klear consistent with itself: each obligation amount includes its funding payments', async () => {
    const funding = await fixture.api.db.dataSource.query(`SELECT count(*)::int AS n FROM klear_obligation WHERE funding_centicents <> 0`);
    expect(funding[0].n).toBe(2 * feed.cycles.length);
    for (const runId of runs.values()) expect(await fixture.breaksOf(runId, ['klear_consistency'])).toEqual([]);
  });

  it('filters breaks by asset class: those its runs found; a malformed class is a 400', async () => {
    const get = (query: string) =>
      fixture.api.http().get(`/breaks?limit=500&${query}`).set('authorization', `Bearer ${fixture.api.tokens.viewer}`);
    for (const [assetClass, prefix] of [
      ['Equity', '/EQU-PERP-'],
      ['Crypto', '/CRY-PERP-'],
    ]) {
      const answer = await get(`asset_class=${assetClass}`);
      expect(answer.status).toBe(200);
      const expected = feed.answer_key.breaks
        .filter((b) => b.asset_class === assetClass)
        .map((b) => b.key)
        .sort();
      expect(expected.some((key) => key.includes(prefix))).toBe(true);
      expect(expected.length).toBeGreaterThan(0);
      expect(answer.body.data.map((b: { key: string }) => b.key).sort()).toEqual(expected);
    }
    const bad = await get('asset_class=Crypto%27%20OR%201=1');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('asset_class');
  });

  it('explains the funding difference of every cycle to the centicent: Klear total minus ledger total is the sum of the funding breaks', async () => {
    for (const [cycleAndClass, runId] of runs) {
      const [cycle, assetClass] = cycleAndClass.split(' ');
      const run = await fixture.queries.getRun(runId);
      const totals = (run.summary as { funding_totals: Record<string, string> }).funding_totals;
      const breaks = expectedFor(feed, cycle, assetClass).filter((b) => b.check === 'funding');
      const sum = breaks.reduce((s, b) => s + BigInt(b.difference), 0n);
      expect(BigInt(totals.klear_total) - BigInt(totals.internal_total)).toBe(sum);
      expect(BigInt(totals.difference)).toBe(sum);
      expect(totals.klear_total).not.toBe('0');
    }
  });
});
