import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ReconWorld } from '../reconciliation/recon-world';
import { ledgerCsv, ledgerXlsx } from './ledger-factory';

/*
 * Funding entries through the ledger's file imports (docs/ledger-and-breaks.md, "CSV / XLSX import";
 * docs/ledger-import-example.csv has a funding entry): funding_payment rows booked from a CSV and an
 * XLSX file are what the funding check compares with Klear's funding payments; files with bad
 * funding rows are refused whole, each row named with a reason, nothing booked.
 */
const CYCLE = '2026-11-05T21:00:00Z';
const row = (id: string, subtrader: string, account: string, market: string, amount: string, entryType = 'funding_payment') =>
  `${id},${entryType},${CYCLE},${CYCLE},${subtrader},,funding of the cycle,,${account},${market},${amount}`;
const csv = ledgerCsv;
const xlsx = ledgerXlsx;

describe('funding entries imported from CSV and XLSX files', () => {
  let world: ReconWorld;
  const upload = (file: Buffer, name: string) =>
    world.api.http().post('/ledger/imports').set('authorization', world.as('operator')).attach('file', file, name);
  const written = async () => ({
    entries: await world.api.db.count('journal_entry'),
    postings: await world.api.db.count('journal_posting'),
  });

  beforeAll(async () => {
    world = await ReconWorld.start();
    // Klear's funding of the cycle: ST-1 paid on BTC and received on ETH, ST-2 received on BTC over two funding times.
    await world.obligation({
      cycle: CYCLE,
      funding: [
        { subtrader: 'ST-1', market: 'BTC-PERP-001', amount: -1200n },
        { subtrader: 'ST-1', market: 'ETH-PERP-002', amount: 300n },
        { subtrader: 'ST-2', market: 'BTC-PERP-001', amount: 250n, fundingTime: '2026-11-05T13:00:00Z' },
        { subtrader: 'ST-2', market: 'BTC-PERP-001', amount: 250n, fundingTime: '2026-11-05T21:00:00Z' },
      ],
    });
  });
  afterAll(() => world?.close());

  it('refuses a CSV whose funding rows break the rules, naming each line and why, and books none of it', async () => {
    const before = await written();
    const res = await upload(
      csv(
        // A valid funding entry in the same file: not booked either.
        row('FP-OK', 'ST-1', 'funding', 'BTC-PERP-001', '-1200'),
        row('FP-OK', 'ST-1', 'klear_settlement', '', '1200'),
        // A funding posting without its market.
        row('FP-NOMARKET', 'ST-1', 'funding', '', '-1200'),
        row('FP-NOMARKET', 'ST-1', 'klear_settlement', '', '1200'),
        // Two funding postings for one market.
        row('FP-TWICE', 'ST-1', 'funding', 'ETH-PERP-002', '100'),
        row('FP-TWICE', 'ST-1', 'funding', 'ETH-PERP-002', '200'),
        row('FP-TWICE', 'ST-1', 'klear_settlement', '', '-300'),
        // No subtrader: the funding could count in no figure.
        row('FP-NOSUB', '', 'funding', 'BTC-PERP-001', '500'),
        row('FP-NOSUB', '', 'klear_settlement', '', '-500'),
        // Not balanced.
        row('FP-UNBALANCED', 'ST-2', 'funding', 'BTC-PERP-001', '500'),
        row('FP-UNBALANCED', 'ST-2', 'klear_settlement', '', '-499'),
        // Funding booked on a trade settlement, and a fractional amount.
        row('TS-FUNDING', 'ST-2', 'funding', 'BTC-PERP-001', '500', 'trade_settlement'),
        row('TS-FUNDING', 'ST-2', 'klear_settlement', '', '-500', 'trade_settlement'),
        row('FP-FRACTION', 'ST-2', 'funding', 'BTC-PERP-001', '500.5'),
        row('FP-FRACTION', 'ST-2', 'klear_settlement', '', '-500.5'),
      ),
      'funding-bad.csv',
    );
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('LEDGER_IMPORT_REJECTED');
    const rejected = (res.body.details.rejected_rows as Array<{ line: number; external_id: string; code: string; reason: string }>).map(
      (r) => [r.line, r.external_id, r.code, r.reason],
    );
    expect(rejected).toEqual([
      [4, 'FP-NOMARKET', 'MISSING_FIELD', expect.stringMatching(/^market_ticker: .*funding/)],
      [7, 'FP-TWICE', 'NOT_ALLOWED', expect.stringMatching(/ETH-PERP-002/)],
      [9, 'FP-NOSUB', 'MISSING_FIELD', expect.stringMatching(/^subtrader_id: is required/)],
      [11, 'FP-UNBALANCED', 'UNBALANCED_ENTRY', expect.stringMatching(/sum to 1/)],
      [13, 'TS-FUNDING', 'NOT_ALLOWED', 'account: a trade_settlement entry posts only to trading_pnl, trading_fees, klear_settlement'],
      [15, 'FP-FRACTION', 'INVALID_VALUE', expect.stringMatching(/^amount_centicents: "500.5" is not a whole number of centicents/)],
      [16, 'FP-FRACTION', 'INVALID_VALUE', expect.stringMatching(/^amount_centicents: "-500.5" is not a whole number of centicents/)],
    ]);
    expect(res.body.details).toMatchObject({ status: 'rejected', created: 0, rejected_entries: 6 });
    expect(await written()).toEqual(before);
  });

  it('refuses an XLSX whose funding row carries a market on its klear_settlement leg or a fractional number, and books nothing', async () => {
    const before = await written();
    const res = await upload(
      await xlsx([
        ['FX-OK', 'funding_payment', CYCLE, CYCLE, 'ST-2', '', '', '', 'funding', 'BTC-PERP-001', 500],
        ['FX-OK', 'funding_payment', CYCLE, CYCLE, 'ST-2', '', '', '', 'klear_settlement', '', -500],
        ['FX-FRACTION', 'funding_payment', CYCLE, CYCLE, 'ST-3', '', '', '', 'funding', 'BTC-PERP-001', 12.5],
        ['FX-FRACTION', 'funding_payment', CYCLE, CYCLE, 'ST-3', '', '', '', 'klear_settlement', '', -12],
        ['FX-MARKET', 'funding_payment', CYCLE, CYCLE, 'ST-3', '', '', '', 'funding', 'BTC-PERP-001', 12],
        ['FX-MARKET', 'funding_payment', CYCLE, CYCLE, 'ST-3', '', '', '', 'klear_settlement', 'BTC-PERP-001', -12],
      ]),
      'funding-bad.xlsx',
    );
    expect(res.status).toBe(400);
    expect(
      (res.body.details.rejected_rows as Array<{ line: number; external_id: string; code: string; reason: string }>).map((r) => [
        r.line,
        r.external_id,
        r.code,
        r.reason,
      ]),
    ).toEqual([
      [4, 'FX-FRACTION', 'INVALID_VALUE', expect.stringMatching(/^amount_centicents: /)],
      [
        7,
        'FX-MARKET',
        'NOT_ALLOWED',
        'market_ticker: only trading_pnl, trading_fees and funding postings carry a market_ticker, not klear_settlement',
      ],
    ]);
    expect(res.body.details).toMatchObject({ status: 'rejected', created: 0, rejected_entries: 2 });
    expect(await written()).toEqual(before);
  });

  it('books funding from a CSV (ST-1) and an XLSX (ST-2), and the funding check compares exactly those with Klear', async () => {
    const fromCsv = await upload(
      csv(
        row('FP-ST-1', 'ST-1', 'funding', 'BTC-PERP-001', '-1200'),
        row('FP-ST-1', 'ST-1', 'funding', 'ETH-PERP-002', '300'),
        row('FP-ST-1', 'ST-1', 'klear_settlement', '', '900'),
      ),
      'funding.csv',
    );
    expect(fromCsv.status).toBe(200);
    expect(fromCsv.body).toMatchObject({ format: 'csv', created: 1, rows: 3 });
    // The treasury booked 450 for ST-2's 500: the one difference the check must report.
    const fromXlsx = await upload(
      await xlsx([
        ['FP-ST-2', 'funding_payment', CYCLE, CYCLE, 'ST-2', '', 'funding of the cycle', '', 'funding', 'BTC-PERP-001', 450],
        ['FP-ST-2', 'funding_payment', CYCLE, CYCLE, 'ST-2', '', 'funding of the cycle', '', 'klear_settlement', '', '-450'],
      ]),
      'funding.xlsx',
    );
    expect(fromXlsx.status).toBe(200);
    expect(fromXlsx.body).toMatchObject({ format: 'xlsx', created: 1, rows: 2 });
    const entry = await world.api.http().get('/ledger/entries').query({ external_id: 'FP-ST-2' }).set('authorization', world.as('viewer'));
    expect(entry.body.data[0]).toMatchObject({ entry_type: 'funding_payment', subtrader_id: 'ST-2', import_id: fromXlsx.body.import_id });

    const run = await world.run(CYCLE);
    expect(await world.brief(run.runId, ['funding'])).toEqual([
      [`funding/${CYCLE}/ST-2/BTC-PERP-001`, 'amount_mismatch', '500', '450', '50'],
    ]);
    const [b] = await world.breaks(run.runId, ['funding']);
    expect(b.internal_rows).toEqual(['FP-ST-2']);
    const summary = (await world.queries.getRun(run.runId)).summary as { funding_totals: Record<string, string> };
    expect(summary.funding_totals).toEqual({ klear_total: '-400', internal_total: '-450', difference: '50' });
    expect(await world.brief(run.runId, ['klear_consistency'])).toEqual([]);
  });
});
