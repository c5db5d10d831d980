// Issue 18: GET /subtraders reads each subtrader's latest-cycle figures from klear_subtrader_latest_figures,
// which storing an obligation refreshes (migration LatestSubtraderFigures). These tests try to make the
// table say something the source rows do not: a second asset class stored beside the first in another
// transaction, an amended obligation, one moved out of the latest cycle, an older cycle arriving late,
// funding changed alone, a newer cycle written around the refresh, a drifted row. The archive rebuild
// refilling it: test/ingestion/archive-rebuild.test.ts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditService } from '@app/audit';
import { systemClock } from '@app/clock';
import { DerivedTablesRepository, inTransaction, SubtraderRepository, upsertObligation } from '@app/ingestion';
import type { ObligationEntry } from '@app/klear-contract';
import { ReconciliationSummaries, ReconciliationSummariesRepository } from '@app/reconciliation';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { waitUntilBlockedOnALock } from '../support/lock-wait';

interface Figures {
  pnl: bigint;
  fees: bigint;
  margin?: bigint;
  funding?: bigint[];
}

/** One obligation: per subtrader, two markets splitting `pnl` and `fees`, an optional margin row and funding payments. */
function obligation(
  id: string,
  executionTime: string,
  assetClass: string,
  figures: Record<string, Figures>,
  lastUpdated = executionTime,
): ObligationEntry {
  const entries = Object.entries(figures);
  const settlement = entries.flatMap(([subtrader, f]) =>
    [0n, 1n].map((m) => {
      const pnl = m === 0n ? f.pnl / 2n : f.pnl - f.pnl / 2n;
      const fees = m === 0n ? f.fees : 0n;
      return {
        id: `${id}/${subtrader}/${m}`,
        market_ticker: `MKT-${m}`,
        subtrader_id: subtrader,
        position_quantity_fp: '1.00',
        pnl_centicents: pnl,
        total_fees_centicents: fees,
        total_amount_centicents: pnl - fees,
      };
    }),
  );
  const margins = entries
    .filter(([, f]) => f.margin !== undefined)
    .map(([subtrader, f]) => ({
      id: `${id}/mm/${subtrader}`,
      subtrader_id: subtrader,
      maintenance_margin_centicents: f.margin!,
      maintenance_margin_delta_centicents: f.margin! / 10n,
    }));
  const funding = entries.flatMap(([subtrader, f]) =>
    (f.funding ?? []).map((amount, i) => ({
      id: `${id}/fp/${subtrader}/${i}`,
      market_ticker: 'MKT-0',
      subtrader_id: subtrader,
      funding_time: executionTime,
      position_quantity_fp: '1.00',
      notional_value_centicents: 1000n,
      funding_amount_centicents: amount,
    })),
  );
  const pnl = settlement.reduce((a, d) => a + d.pnl_centicents, 0n);
  const fees = settlement.reduce((a, d) => a + d.total_fees_centicents, 0n);
  return {
    id,
    user_id: 'member',
    amount_centicents: pnl - fees,
    fees_centicents: fees,
    maintenance_margin_centicents: margins.reduce((a, m) => a + m.maintenance_margin_centicents, 0n),
    pnl_centicents: pnl,
    execution_time: executionTime,
    last_updated_ts: lastUpdated,
    asset_class: assetClass,
    receives: [],
    settlement_details: settlement,
    funding_payments: funding,
    maintenance_margin_details: margins,
  };
}

const DAY_1 = '2026-11-20T22:00:00Z';
const DAY_2 = '2026-11-21T22:00:00Z';
const DAY_3 = '2026-11-22T22:00:00Z';

describe('the latest cycle figures GET /subtraders reads', () => {
  let db: TestDatabase;
  let archiveId: string;
  let summaries: ReconciliationSummaries;
  beforeAll(async () => {
    db = await createTestDatabase();
    [{ id: archiveId }] = await db.dataSource.query(
      `INSERT INTO klear_response_archive (endpoint, params, received_at, http_status, sha256, body) VALUES ('GET /margin/obligation_history', '{}', now(), 200, 'x', '\\x00') RETURNING id`,
    );
    summaries = new ReconciliationSummaries(
      new ReconciliationSummariesRepository(db.dataSource, new AuditService(db.dataSource, null, systemClock)),
    );
  });
  afterAll(() => db?.drop());

  const upsert = (entry: ObligationEntry) => inTransaction(db.dataSource, (tx) => upsertObligation(tx, entry, archiveId, new Date()));

  /** The API's figures of each subtrader (every page of the registry), as strings: pnl, fees, total, margin, funding, payments. */
  async function listed(): Promise<Record<string, Array<string | number | null>>> {
    const rows = await new SubtraderRepository(db.dataSource).page({ limit: 500 });
    return Object.fromEntries(
      rows.map((r) => [
        r.subtrader_id,
        [
          r.pnl_centicents,
          r.fees_centicents,
          r.total_centicents,
          r.maintenance_margin_centicents,
          r.funding_centicents,
          r.funding_payment_count,
        ],
      ]),
    );
  }

  /** The table agrees with the figures recomputed from the source rows (recon:verify-summaries finds nothing). */
  async function agrees(): Promise<void> {
    expect(await summaries.verify()).toEqual([]);
  }

  it('holds the sums of the latest cycle, every asset class, and nothing of an older cycle', async () => {
    await upsert(
      obligation('c1-crypto', DAY_1, 'Crypto', {
        'ST-A': { pnl: 101n, fees: 3n, margin: 500n, funding: [7n, -2n] },
        'ST-B': { pnl: -40n, fees: 1n },
      }),
    );
    expect(await listed()).toEqual({ 'ST-A': ['101', '3', '98', '500', '5', 2], 'ST-B': ['-40', '1', '-41', null, '0', 0] });
    await upsert(obligation('c2-crypto', DAY_2, 'Crypto', { 'ST-A': { pnl: 1_000n, fees: 10n, margin: 600n } }));
    await upsert(
      obligation('c2-equity', DAY_2, 'Equity', { 'ST-A': { pnl: 5n, fees: 0n, margin: 1n, funding: [3n] }, 'ST-C': { pnl: 9n, fees: 2n } }),
    );
    // ST-B traded on day 1 only: no figures in the latest cycle.
    expect(await listed()).toEqual({
      'ST-A': ['1005', '10', '995', '601', '3', 1],
      'ST-B': [null, null, null, null, '0', 0],
      'ST-C': ['9', '2', '7', null, '0', 0],
    });
    await agrees();
  });

  it('keeps the latest cycle when an older cycle arrives late, and follows an amendment of a latest obligation', async () => {
    await upsert(
      obligation('c0-crypto', '2026-11-19T22:00:00Z', 'Crypto', { 'ST-A': { pnl: 1n, fees: 1n }, 'ST-D': { pnl: 4n, fees: 0n } }),
    );
    expect((await listed())['ST-A']).toEqual(['1005', '10', '995', '601', '3', 1]);
    expect((await listed())['ST-D']).toEqual([null, null, null, null, '0', 0]);
    // Klear amends the equity obligation: ST-A's PnL and funding change, ST-C leaves it.
    await upsert(
      obligation('c2-equity', DAY_2, 'Equity', { 'ST-A': { pnl: 25n, fees: 4n, margin: 1n, funding: [3n, 3n] } }, '2026-11-22T01:00:00Z'),
    );
    expect(await listed()).toMatchObject({ 'ST-A': ['1025', '14', '1011', '601', '6', 2], 'ST-C': [null, null, null, null, '0', 0] });
    await agrees();
  });

  it('follows an obligation moved out of the latest cycle by an amendment', async () => {
    // The equity obligation's execution time moves back a day: the latest cycle is the crypto one alone.
    await upsert(obligation('c2-equity', DAY_1, 'Equity', { 'ST-A': { pnl: 25n, fees: 4n } }, '2026-11-22T02:00:00Z'));
    expect((await listed())['ST-A']).toEqual(['1000', '10', '990', '600', '0', 0]);
    await agrees();
  });

  it('follows an amendment that changes only funding payments', async () => {
    await upsert(
      obligation(
        'c2-crypto',
        DAY_2,
        'Crypto',
        { 'ST-A': { pnl: 1_000n, fees: 10n, margin: 600n, funding: [11n, 4n] } },
        '2026-11-22T03:00:00Z',
      ),
    );
    expect((await listed())['ST-A']).toEqual(['1000', '10', '990', '600', '15', 2]);
    await agrees();
  });

  it('includes an asset class stored at the same time in another transaction (the refreshes take turns)', async () => {
    // Two transactions each store one asset class of a new latest cycle, for different subtraders (so
    // the subtrader registry's row locks do not order them); the first holds off its commit until the
    // second has stored its obligation as far as it can. Had the second refreshed before the first
    // committed, it would have removed ST-A's row the first had just written (not in its own view of
    // the cycle) once the first committed.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let stored!: () => void;
    const firstStored = new Promise<void>((resolve) => (stored = resolve));
    const first = inTransaction(db.dataSource, async (tx) => {
      await upsertObligation(
        tx,
        obligation('c3-crypto', DAY_3, 'Crypto', { 'ST-A': { pnl: 70n, fees: 1n, margin: 9n } }),
        archiveId,
        new Date(),
      );
      stored();
      await held;
    });
    await firstStored;
    const second = upsert(obligation('c3-equity', DAY_3, 'Equity', { 'ST-E': { pnl: 8n, fees: 0n, funding: [4n] } }));
    await waitUntilBlockedOnALock(db.dataSource);
    release();
    await Promise.all([first, second]);
    expect(await listed()).toMatchObject({
      'ST-A': ['70', '1', '69', '9', '0', 0],
      'ST-E': ['8', '0', '8', null, '4', 1],
      'ST-B': [null, null, null, null, '0', 0],
    });
    await agrees();
  });

  it('shows no figures, never an older cycle as the latest, when a newer cycle was written around the refresh', async () => {
    // As a restore or a hand-written insert could leave it: a newer obligation the refresh never saw.
    await db.dataSource.query(
      `INSERT INTO klear_obligation (id, user_id, amount_centicents, fees_centicents, maintenance_margin_centicents, pnl_centicents, execution_time,
         last_updated_ts, content_sha256, settlement_detail_count, first_pulled_at, pulled_at, archive_id)
       VALUES ('c4-by-hand', 'member', 0, 0, 0, 0, '2026-11-23T22:00:00Z', '2026-11-23T22:00:00Z', 'x', 0, now(), now(), $1)`,
      [archiveId],
    );
    expect((await listed())['ST-A']).toEqual([null, null, null, null, '0', 0]);
    const differences = await summaries.verify();
    expect(differences.map((d) => [d.table, d.subtrader_id, d.recomputed])).toEqual([
      ['klear_subtrader_latest_figures', 'ST-A', null],
      ['klear_subtrader_latest_figures', 'ST-E', null],
    ]);
    // recon:rebuild-summaries brings the table to the source rows (the hand-written cycle has none).
    expect((await summaries.rebuild('test')).latest_figures_rows_changed).toBe(2);
    await agrees();
    await db.dataSource.query(`DELETE FROM klear_obligation WHERE id = 'c4-by-hand'`);
    expect((await summaries.rebuild('test')).latest_figures_rows_changed).toBe(2);
    expect((await listed())['ST-A']).toEqual(['70', '1', '69', '9', '0', 0]);
  });

  it('reports a drifted row and rebuilds it; an archive rebuild empties the table with the other derived tables', async () => {
    await db.dataSource.query(`UPDATE klear_subtrader_latest_figures SET pnl_centicents = pnl_centicents + 1 WHERE subtrader_id = 'ST-E'`);
    const [drift] = await summaries.verify();
    expect(drift).toMatchObject({
      table: 'klear_subtrader_latest_figures',
      scope: '2026-11-22T22:00:00.000Z',
      subtrader_id: 'ST-E',
      stored: ['2026-11-22T22:00:00.000Z', '9', '0', '8', null, null, '4', '1'],
      recomputed: ['2026-11-22T22:00:00.000Z', '8', '0', '8', null, null, '4', '1'],
    });
    expect((await summaries.rebuild('test')).latest_figures_rows_changed).toBe(1);
    await agrees();
    await new DerivedTablesRepository(db.dataSource).empty();
    expect(await db.dataSource.query(`SELECT count(*)::int AS n FROM klear_subtrader_latest_figures`)).toEqual([{ n: 0 }]);
  });
});
