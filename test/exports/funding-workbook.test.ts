import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type ExcelJS from 'exceljs';
import { SimulatedReconWorld, type LedgerFeed } from '../reconciliation/simulated-recon-world';
import { centicents, DAILY_WORKBOOK_SHEETS, readWorkbook, records } from './workbook-reader';

const etDate = (iso: string) => new Date(iso).toLocaleDateString('en-CA', { timeZone: 'America/New_York' });

/*
 * The daily workbook of a live-API day: two asset classes, funding three times a cycle, netted
 * groups. The Funding sheet lists Klear's funding against the ledger's per (cycle, subtrader,
 * market) and agrees with the run's funding breaks to the centicent; the Subtraders sheet names each
 * subtrader's group; the Settlement details sheet names each Klear row's asset class.
 */
describe('the daily workbook of a day with funding, groups and two asset classes', () => {
  jest.setTimeout(300_000);
  let fixture: SimulatedReconWorld;
  let feed: LedgerFeed;
  let dir: string;
  let workbook: ExcelJS.Workbook;
  let cycle: string;
  let rowCounts: Record<string, number>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'klear-funding-workbook-'));
    fixture = await SimulatedReconWorld.start(
      { seed: 17, subtraders: 9, markets: 6, days: 3, fundingPerCycle: 3, marginGroups: true, assetClasses: 'Crypto,Equity' },
      { env: { EXPORTS_DIR: dir } },
    );
    await fixture.ingestKlear();
    feed = await fixture.feed({});
    cycle = feed.cycles.at(-1)!;
    feed = await fixture.feed({
      discrepancies: [
        { kind: 'missing_funding', cycle, subtrader_id: 'ST-00002' },
        { kind: 'wrong_funding', cycle, subtrader_id: 'ST-00003' },
      ],
    });
    await fixture.postLedger(feed.entries);
    for (const assetClass of ['Crypto', 'Equity']) await fixture.reconciliation.start({ cycle: new Date(cycle), assetClass }, 'test');
    const res = await fixture.api
      .http()
      .post('/exports')
      .set('Authorization', `Bearer ${fixture.api.tokens.operator}`)
      .send({ date: etDate(cycle) });
    expect(res.status).toBe(201);
    rowCounts = res.body.row_counts;
    const [stored] = (await fixture.api.db.dataSource.query(`SELECT file_path FROM export_file WHERE id = $1`, [res.body.id])) as Array<{
      file_path: string;
    }>;
    workbook = await readWorkbook(join(dir, stored.file_path));
  });
  afterAll(async () => {
    await fixture?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has a Funding sheet: one row per (subtrader, market) Klear paid funding for, Klear against the ledger', async () => {
    expect(workbook.worksheets.map((s) => s.name)).toEqual(DAILY_WORKBOOK_SHEETS);
    const rows = records(workbook, 'Funding');
    const klear = (await fixture.api.db.dataSource.query(
      `SELECT f.subtrader_id, f.market_ticker, o.asset_class, count(*)::int AS n, sum(f.funding_amount_centicents)::text AS amount
         FROM klear_funding_payment f JOIN klear_obligation o ON o.id = f.obligation_id WHERE o.execution_time = $1
        GROUP BY 1, 2, 3 ORDER BY 1, 2`,
      [new Date(cycle)],
    )) as Array<{ subtrader_id: string; market_ticker: string; asset_class: string; n: number; amount: string }>;
    expect(klear.length).toBeGreaterThan(0);
    expect(rowCounts.Funding).toBe(klear.length);
    expect(
      rows.map((r) => [r.Subtrader, r.Market, r['Asset class'], r['Funding payments'], centicents(r['Klear funding (centicents)'])]),
    ).toEqual(klear.map((k) => [k.subtrader_id, k.market_ticker, k.asset_class, k.n, BigInt(k.amount)]));
    expect(new Set(rows.map((r) => r['Asset class']))).toEqual(new Set(['Crypto', 'Equity']));
    expect(rows.filter((r) => r.Subtrader === 'ST-00001').every((r) => r.Group === 'GRP-0001')).toBe(true);
  });

  it('agrees with the run: the rows that differ are exactly the funding breaks, with the same differences', () => {
    const differing = records(workbook, 'Funding')
      .filter((r) => r.Match !== 'matched')
      .map((r) => [`funding/${cycle}/${r.Subtrader}/${r.Market}`, r.Match, centicents(r['Difference (centicents)'])]);
    const expected = feed.answer_key.breaks.filter((b) => b.check === 'funding' && b.cycle === cycle);
    expect(expected).toHaveLength(2);
    expect(differing).toEqual(
      expected.map((b) => [b.key, b.reason_code === 'missing_internal' ? 'missing_internal' : 'mismatch', BigInt(b.difference)]),
    );
    const breaks = records(workbook, 'Breaks').filter((b) => b.Check === 'funding');
    expect(breaks.map((b) => [b.Key, centicents(b['Difference (centicents)'])]).sort()).toEqual(
      expected.map((b) => [b.key, BigInt(b.difference)]).sort(),
    );
  });

  it("names each subtrader's netted group and each Klear settlement row's asset class", () => {
    const groups = Object.fromEntries(records(workbook, 'Subtraders').map((r) => [r.Subtrader, r.Group]));
    expect(groups).toMatchObject({ 'ST-00001': 'GRP-0001', 'ST-00004': 'GRP-0001', 'ST-00007': 'GRP-0001', 'ST-00002': null });
    const details = records(workbook, 'Settlement details');
    expect(details.filter((d) => String(d.Market).startsWith('EQU-')).every((d) => d['Asset class'] === 'Equity')).toBe(true);
    expect(details.filter((d) => String(d.Market).startsWith('CRY-')).every((d) => d['Asset class'] === 'Crypto')).toBe(true);
  });
});
