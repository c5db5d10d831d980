import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ReconciliationSummaries } from '@app/reconciliation';
import { SimulatedReconWorld, type FeedEntry, type LedgerFeed } from './simulated-recon-world';

/*
 * A run reads per-(cycle, subtrader) summaries maintained by triggers and examines market by market
 * only the subtraders whose summaries differ. These tests hold the summaries to their source rows
 * and show that errors the totals cannot see are still found, exactly.
 */
describe('reconciliation summaries', () => {
  let fixture: SimulatedReconWorld;
  let feed: LedgerFeed;
  let summaries: ReconciliationSummaries;
  const sql = (text: string, params: unknown[] = []) =>
    fixture.api.db.dataSource.query(text, params) as Promise<Array<Record<string, string>>>;

  beforeAll(async () => {
    fixture = await SimulatedReconWorld.start({ seed: 31, subtraders: 6, markets: 5, days: 3 });
    await fixture.ingestKlear();
    feed = await fixture.feed({});
    await fixture.postLedger(feed.entries);
    summaries = fixture.api.app.get(ReconciliationSummaries);
  });
  afterAll(() => fixture.close());

  /** A balanced adjustment of one subtrader's cycle: PnL (and fees) per market, cash on klear_settlement. */
  function adjustment(
    id: string,
    cycle: string,
    subtrader: string,
    lines: Array<{ account: 'trading_pnl' | 'trading_fees'; market: string; amount: bigint }>,
  ): FeedEntry {
    const total = lines.reduce((sum, l) => sum + l.amount, 0n);
    return {
      external_id: id,
      entry_type: 'adjustment',
      effective_at: cycle,
      cycle,
      subtrader_id: subtrader,
      postings: [
        ...lines.map((l) => ({ account: l.account, market_ticker: l.market, amount_centicents: l.amount.toString() })),
        ...(total === 0n ? [] : [{ account: 'klear_settlement', amount_centicents: (-total).toString() }]),
      ],
    };
  }

  it('holds exactly the figures recomputed from the ingested details and the posted ledger', async () => {
    const [counts] = await sql(
      `SELECT (SELECT count(*) FROM klear_settlement_summary)::int AS k, (SELECT count(*) FROM ledger_trading_summary)::int AS l`,
    );
    expect(counts).toEqual({ k: 6 * 3, l: 6 * 3 });
    expect(await summaries.verify()).toEqual([]);
  });

  it('follows Klear details through insert, update (value and subtrader), delete and a whole obligation replaced', async () => {
    const [{ id }] = await sql(`SELECT id FROM klear_obligation ORDER BY execution_time LIMIT 1`);
    await fixture.churnDetails(
      'klear_settlement_detail',
      'pnl_centicents',
      id,
      `INSERT INTO klear_settlement_detail (obligation_id, id, market_ticker, subtrader_id, pnl_centicents, fees_centicents, total_centicents, cycle)
                    VALUES ($1, 'extra-1', 'NEW-MKT', 'MOVED', -5, 3, -8, (SELECT execution_time FROM klear_obligation WHERE id = $1))`,
    );
    expect(await summaries.verify()).toEqual([]);
    const [moved] = await sql(
      `SELECT detail_rows::text, pnl_centicents::text, fees_centicents::text FROM klear_settlement_summary WHERE obligation_id = $1 AND subtrader_id = 'MOVED'`,
      [id],
    );
    expect(moved.detail_rows).toBe('2');
    await sql(`DELETE FROM klear_settlement_detail WHERE obligation_id = $1 AND subtrader_id = 'MOVED'`, [id]);
    expect(await sql(`SELECT 1 FROM klear_settlement_summary WHERE obligation_id = $1 AND subtrader_id = 'MOVED'`, [id])).toEqual([]);
    // Put the simulator's version back through ingestion (a changed obligation: update + delete + insert).
    await fixture.reingestObligation(id);
    expect(await summaries.verify()).toEqual([]);
    const cycle = feed.cycles[0];
    const run = await fixture.reconciliation.start({ cycle: new Date(cycle) }, 'test');
    expect(run.breakCount).toBe(0);
  });

  it('finds two markets off by +1 and -1 centicent, which leave the subtrader totals equal, as two exact breaks', async () => {
    const cycle = feed.cycles[1];
    const entry = feed.entries.find((e) => e.cycle === cycle && e.entry_type === 'trade_settlement')!;
    const [a, b] = [...new Set(entry.postings.filter((p) => p.market_ticker).map((p) => p.market_ticker!))];
    const subtrader = entry.subtrader_id!;
    await fixture.postLedger([
      adjustment(`adj/compensating/${cycle}`, cycle, subtrader, [
        { account: 'trading_pnl', market: a, amount: 1n },
        { account: 'trading_pnl', market: b, amount: -1n },
      ]),
    ]);
    const run = await fixture.reconciliation.start({ cycle: new Date(cycle) }, 'test');
    const breaks = await fixture.breaksOf(run.runId);
    expect(
      breaks
        .map((x) => ({ key: x.key, reason: x.reason_code, difference: x.difference, pnl: x.pnl_difference, fees: x.fees_difference }))
        .sort((x, y) => x.key.localeCompare(y.key)),
    ).toEqual(
      [
        { key: `settlement_details/${cycle}/${subtrader}/${a}`, reason: 'amount_mismatch', difference: '-1', pnl: '-1', fees: '0' },
        { key: `settlement_details/${cycle}/${subtrader}/${b}`, reason: 'amount_mismatch', difference: '1', pnl: '1', fees: '0' },
      ].sort((x, y) => x.key.localeCompare(y.key)),
    );
    const [rollup] = await sql(
      `SELECT klear_total_centicents::text AS k, internal_total_centicents::text AS i, break_count FROM recon_subtrader_rollup WHERE run_id = $1`,
      [run.runId],
    );
    expect(rollup.k).toBe(rollup.i);
    expect(Number(rollup.break_count)).toBe(2);
  });

  it('finds PnL booked as fees on one market (total unchanged) and treats a market missing on one side as zero', async () => {
    const cycle = feed.cycles[2];
    const entry = feed.entries.find((e) => e.cycle === cycle && e.entry_type === 'trade_settlement')!;
    const market = entry.postings.find((p) => p.market_ticker)!.market_ticker!;
    const subtrader = entry.subtrader_id!;
    await fixture.postLedger([
      // PnL 250 lower and fees 250 lower (a fee posting of +250): pnl - fees is unchanged.
      adjustment(`adj/misbooked/${cycle}`, cycle, subtrader, [
        { account: 'trading_pnl', market, amount: -250n },
        { account: 'trading_fees', market, amount: 250n },
      ]),
      // A market Klear does not list, with nothing in it: zero against an absent row, not a break.
      adjustment(`adj/empty-market/${cycle}`, cycle, subtrader, [
        { account: 'trading_pnl', market: 'ZERO-MKT', amount: 0n },
        { account: 'trading_fees', market: 'ZERO-MKT', amount: 0n },
      ]),
    ]);
    const run = await fixture.reconciliation.start({ cycle: new Date(cycle) }, 'test');
    expect(await fixture.breaksOf(run.runId)).toEqual([
      expect.objectContaining({
        key: `settlement_details/${cycle}/${subtrader}/${market}`,
        reason_code: 'amount_mismatch',
        difference: '0',
        pnl_difference: '250',
        fees_difference: '250',
      }),
    ]);
  });

  it('reports a summary that drifted from its source rows, fails the run on the explainability check, and rebuilds', async () => {
    const cycle = feed.cycles[0];
    const [row] = await sql(`SELECT subtrader_id FROM ledger_trading_summary WHERE cycle = $1 ORDER BY subtrader_id LIMIT 1`, [
      new Date(cycle),
    ]);
    // As a restore that bypassed the triggers could leave it.
    await sql(`UPDATE ledger_trading_summary SET pnl_centicents = pnl_centicents + 7 WHERE cycle = $1 AND subtrader_id = $2`, [
      new Date(cycle),
      row.subtrader_id,
    ]);
    const differences = await summaries.verify();
    expect(differences).toHaveLength(1);
    expect(differences[0]).toMatchObject({
      table: 'ledger_trading_summary',
      scope: cycle.replace('Z', '.000Z'),
      subtrader_id: row.subtrader_id,
    });
    expect(BigInt(differences[0].stored![1]) - BigInt(differences[0].recomputed![1])).toBe(7n);
    await expect(fixture.reconciliation.start({ cycle: new Date(cycle) }, 'test')).rejects.toThrow(/explain/i);
    const [failed] = await fixture.queries.listRuns({ limit: 1 });
    expect(failed.status).toBe('failed');

    const rebuilt = await summaries.rebuild('test');
    expect(rebuilt).toEqual({
      klear_rows: 6 * 3,
      ledger_rows: 6 * 3,
      klear_funding_rows: 0,
      ledger_funding_rows: 0,
      latest_figures_rows_changed: 0,
      differences_before: 1,
    });
    expect(await summaries.verify()).toEqual([]);
    const [audit] = await sql(`SELECT action, actor FROM audit_log WHERE action = 'reconciliation.summaries_rebuilt'`);
    expect(audit).toEqual({ action: 'reconciliation.summaries_rebuilt', actor: 'test' });
    const again = await fixture.reconciliation.start({ cycle: new Date(cycle) }, 'test');
    expect(again.breakCount).toBe(0);
  });
});
