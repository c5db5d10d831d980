import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { inTransaction, obligationContent, upsertObligation } from '@app/ingestion';
import type { ObligationEntry } from '@app/klear-contract';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { waitUntilBlockedOnALock } from '../support/lock-wait';

/** A synthetic obligation of `subtraders x markets` details (ids like Klear's: unique per cell). */
function obligation(id: string, subtraders: number, markets: number, feeBump = 0n, lastUpdated = '2026-11-20T22:00:00Z'): ObligationEntry {
  const details = [];
  for (let s = 0; s < subtraders; s++) {
    for (let m = 0; m < markets; m++) {
      const pnl = BigInt((s * 7919 + m * 104729) % 2_000_001) - 1_000_000n;
      const fees = BigInt((s + m) % 97) + (s === 0 && m === 0 ? feeBump : 0n);
      details.push({
        id: `sd-${s}-${m}`,
        market_ticker: `MKT-${m}`,
        subtrader_id: `ST-${s}`,
        position_quantity_fp: `${s - m}.5`,
        pnl_centicents: pnl,
        total_fees_centicents: fees,
        total_amount_centicents: pnl - fees,
      });
    }
  }
  const pnl = details.reduce((a, d) => a + d.pnl_centicents, 0n);
  const fees = details.reduce((a, d) => a + d.total_fees_centicents, 0n);
  return {
    id,
    user_id: 'member',
    amount_centicents: pnl - fees,
    fees_centicents: fees,
    maintenance_margin_centicents: 0n,
    pnl_centicents: pnl,
    execution_time: '2026-11-20T22:00:00Z',
    last_updated_ts: lastUpdated,
    asset_class: 'Crypto',
    receives: [],
    settlement_details: details,
    funding_payments: [],
    maintenance_margin_details: [
      { id: 'mm-x', subtrader_id: '', maintenance_margin_centicents: 5n, maintenance_margin_delta_centicents: 5n },
    ],
  };
}

/** An obligation's content hash. */
const contentHash = (entry: ObligationEntry, unmapped?: string) => obligationContent(entry, unmapped).sha256;

const FUNDING: ObligationEntry['funding_payments'][number] = {
  id: 'f-1',
  market_ticker: 'MKT-1',
  subtrader_id: 'ST-1',
  funding_time: '2026-11-20T21:00:00Z',
  position_quantity_fp: '1.00',
  notional_value_centicents: 5n,
  funding_amount_centicents: -5n,
};

describe('Obligation upsert', () => {
  let db: TestDatabase;
  let archiveId: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    [{ id: archiveId }] = await db.dataSource.query(
      `INSERT INTO klear_response_archive (endpoint, params, received_at, http_status, sha256, body) VALUES ('GET /margin/obligation_history', '{}', now(), 200, 'x', '\\x00') RETURNING id`,
    );
  });
  afterAll(() => db?.drop());

  const upsert = (entry: ObligationEntry) => inTransaction(db.dataSource, (tx) => upsertObligation(tx, entry, archiveId, new Date()));
  const detailSums = async (id: string) =>
    (
      await db.dataSource.query(
        `SELECT count(*)::int AS n, sum(fees_centicents)::text AS fees, sum(total_centicents)::text AS total FROM klear_settlement_detail WHERE obligation_id = $1`,
        [id],
      )
    )[0];

  it('hashes the same content the same whatever the order of its lists', () => {
    const a = obligation('o-1', 3, 3);
    const b = { ...a, settlement_details: [...a.settlement_details].reverse() };
    expect(contentHash(b)).toBe(contentHash(a));
    expect(contentHash(obligation('o-1', 3, 3, 1n))).not.toBe(contentHash(a));
  });

  it('hashes exactly as before the one-pass walk: digests pinned from the per-row hash, and the lists with a repeated id named', () => {
    // Held obligations carry the digest of the earlier code: a different one would store every one again as changed.
    const entry = obligation('pinned', 70, 100);
    const pinned: ObligationEntry = {
      ...entry,
      amount_centicents: 1n,
      fees_centicents: 2n,
      maintenance_margin_centicents: 3n,
      pnl_centicents: 4n,
      last_updated_ts: '2026-11-20T22:00:00.123456Z',
      receives: [
        { id: 'r-2', type: 'wire', amount_centicents: 10n, external_reference: 'ref "\u00e9"', created_ts: '2026-11-20T22:00:00Z' },
        { id: 'r-1', type: 'wire', amount_centicents: -3n, external_reference: null, created_ts: '2026-11-20T22:00:00Z' },
      ] as unknown as ObligationEntry['receives'],
      settlement_details: [
        ...entry.settlement_details.map((d, i) => {
          const s = Math.floor(i / 100);
          const m = i % 100;
          const pnl = BigInt(s * 1000 - m);
          const fees = BigInt(m % 7);
          return { ...d, pnl_centicents: pnl, total_fees_centicents: fees, total_amount_centicents: pnl - fees };
        }),
      ],
      settlement_details_truncated: false,
      funding_payments: [FUNDING],
      maintenance_margin_details: [
        { id: 'mm-2', subtrader_id: 'ST-2', maintenance_margin_centicents: 5n, maintenance_margin_delta_centicents: 5n },
        { id: 'mm-1', subtrader_id: 'ST-1', maintenance_margin_centicents: 7n, maintenance_margin_delta_centicents: -1n },
      ],
    };
    pinned.settlement_details.push({ ...pinned.settlement_details[5], pnl_centicents: 1n, total_amount_centicents: 1n });
    expect(contentHash(pinned)).toBe('60d902bc909eeba3c0f1f32c8876c092a49430507ea6df78071ba173ae0f77e0');
    expect(contentHash(pinned, '{"x":1}')).toBe('d185f825db5e93713ca0ad977ef489d20921c18665f961163f9b4deddbd5c446');
    expect([...obligationContent(pinned).repeatedIds]).toEqual(['settlement_details']);
    expect([...obligationContent({ ...pinned, settlement_details: pinned.settlement_details.slice(0, -1) }).repeatedIds]).toEqual([]);
  });

  it('stores and counts the last row of an id Klear repeats, through COPY and through the small insert, in every list', async () => {
    for (const [id, subtraders] of [
      ['repeat-copy', 70],
      ['repeat-small', 2],
    ] as const) {
      const entry = obligation(id, subtraders, 100);
      const first = entry.settlement_details[3];
      const margin = entry.maintenance_margin_details[0];
      const repeated: ObligationEntry = {
        ...entry,
        settlement_details: [...entry.settlement_details, { ...first, total_fees_centicents: 12_345n }],
        maintenance_margin_details: [margin, { ...margin, maintenance_margin_centicents: 77n }],
        funding_payments: [FUNDING, { ...FUNDING, funding_amount_centicents: -9n }],
      };
      expect([...obligationContent(repeated).repeatedIds].sort()).toEqual([
        'funding_payments',
        'maintenance_margin_details',
        'settlement_details',
      ]);
      await upsert(repeated);
      const [detail] = await db.dataSource.query(
        `SELECT count(*) OVER ()::int AS n, fees_centicents::text AS fees FROM klear_settlement_detail WHERE obligation_id = $1 ORDER BY (id = $2) DESC LIMIT 1`,
        [id, first.id],
      );
      expect(detail).toEqual({ n: subtraders * 100, fees: '12345' });
      expect(
        await db.dataSource.query(`SELECT maintenance_margin_centicents::text AS m FROM klear_margin_detail WHERE obligation_id = $1`, [
          id,
        ]),
      ).toEqual([{ m: '77' }]);
      expect(
        await db.dataSource.query(`SELECT funding_amount_centicents::text AS f FROM klear_funding_payment WHERE obligation_id = $1`, [id]),
      ).toEqual([{ f: '-9' }]);
      // The obligation's totals count what is stored: the repeated row once.
      expect(
        await db.dataSource.query(
          `SELECT settlement_detail_count AS details, funding_centicents::text AS funding, funding_payment_count AS payments FROM klear_obligation WHERE id = $1`,
          [id],
        ),
      ).toEqual([{ details: subtraders * 100, funding: '-9', payments: 1 }]);
    }
  });

  it('writes 20,000 details of a new obligation through COPY, and an unchanged re-read writes nothing', async () => {
    const entry = obligation('big-1', 200, 100);
    expect(await upsert(entry)).toEqual({ outcome: 'new', rowsWritten: 1 + 1 + 20_000 + 1 });
    expect(await detailSums('big-1')).toEqual({
      n: 20_000,
      fees: entry.fees_centicents.toString(),
      total: entry.amount_centicents.toString(),
    });
    expect(await upsert({ ...entry, settlement_details: [...entry.settlement_details].reverse() })).toEqual({
      outcome: 'unchanged',
      rowsWritten: 0,
    });
    const [sub] = await db.dataSource.query(
      `SELECT count(*)::int AS n FROM subtrader WHERE subtrader_id LIKE 'ST-%' AND first_seen_in_klear_at IS NOT NULL`,
    );
    expect(sub.n).toBe(200);
  });

  it('keeps the earlier version when the obligation changes, and merges only the changed detail rows', async () => {
    const changed = obligation('big-1', 200, 100, 250n, '2026-11-21T02:00:00Z');
    // One detail disappears in the new version.
    changed.settlement_details = changed.settlement_details.filter((d) => d.id !== 'sd-199-99');
    const result = await upsert(changed);
    expect(result.outcome).toBe('changed');
    expect(result.rowsWritten).toBe(1 + 1 + 1 + 1); // obligation, version, one changed detail, margin row
    const sums = await detailSums('big-1');
    expect(sums.n).toBe(19_999);
    expect(sums.fees).toBe(changed.settlement_details.reduce((a, d) => a + d.total_fees_centicents, 0n).toString());
    const versions = await db.dataSource.query(
      `SELECT last_updated_ts, fees_centicents FROM klear_obligation_version WHERE obligation_id = 'big-1' ORDER BY last_updated_ts`,
    );
    expect(versions.map((v: { fees_centicents: string }) => v.fees_centicents)).toEqual([
      obligation('big-1', 200, 100).fees_centicents.toString(),
      changed.fees_centicents.toString(),
    ]);
  });

  it('keeps a stale version read late as a version only, never overwriting the newer current one', async () => {
    const stale = obligation('big-1', 200, 100, 7n, '2026-11-20T23:00:00Z');
    expect((await upsert(stale)).outcome).toBe('older_version');
    const [current] = await db.dataSource.query(`SELECT last_updated_ts FROM klear_obligation WHERE id = 'big-1'`);
    expect(current.last_updated_ts.toISOString()).toBe('2026-11-21T02:00:00.000Z');
    const [{ n }] = await db.dataSource.query(`SELECT count(*)::int AS n FROM klear_obligation_version WHERE obligation_id = 'big-1'`);
    expect(n).toBe(3);
  });

  it('keeps the newest version when two transactions insert the same new obligation at once, the newer one committing first', async () => {
    const newer = { ...obligation('race-1', 2, 2, 9n, '2026-11-21T05:00:00Z') };
    const older = obligation('race-1', 2, 2, 0n, '2026-11-21T04:00:00Z');
    let releaseNewer!: () => void;
    const newerHeld = new Promise<void>((resolve) => (releaseNewer = resolve));
    let newerInserted!: () => void;
    const inserted = new Promise<void>((resolve) => (newerInserted = resolve));
    const newerTx = inTransaction(db.dataSource, async (tx) => {
      const result = await upsertObligation(tx, newer, archiveId, new Date());
      newerInserted();
      await newerHeld;
      return result;
    });
    await inserted;
    // The older version's transaction starts while the newer row is inserted but not committed: it waits
    // for the newer one (obligation writers take turns, AdvisoryLocks.obligationWrites), then finds its row.
    const olderTx = inTransaction(db.dataSource, (tx) => upsertObligation(tx, older, archiveId, new Date()));
    await waitUntilBlockedOnALock(db.dataSource);
    releaseNewer();
    expect((await newerTx).outcome).toBe('new');
    expect((await olderTx).outcome).toBe('older_version');
    const [current] = await db.dataSource.query(
      `SELECT last_updated_ts, fees_centicents::text AS fees FROM klear_obligation WHERE id = 'race-1'`,
    );
    expect({ at: current.last_updated_ts.toISOString(), fees: current.fees }).toEqual({
      at: '2026-11-21T05:00:00.000Z',
      fees: newer.fees_centicents.toString(),
    });
    expect(await detailSums('race-1')).toMatchObject({ fees: newer.fees_centicents.toString() });
  });

  it("keeps Klear's last_updated_ts beyond the millisecond; execution_time, the cycle key, to the millisecond", async () => {
    const entry = {
      ...obligation('micro-1', 1, 1),
      execution_time: '2026-11-20T22:00:00.123456Z',
      last_updated_ts: '2026-11-20T22:05:00.654321Z',
    };
    expect((await upsert(entry)).outcome).toBe('new');
    const [row] = await db.dataSource.query(
      `SELECT to_char(execution_time AT TIME ZONE 'UTC', 'HH24:MI:SS.US') AS executed, to_char(last_updated_ts AT TIME ZONE 'UTC', 'HH24:MI:SS.US') AS updated FROM klear_obligation WHERE id = 'micro-1'`,
    );
    // execution_time is the cycle key every reader carries as a JS Date: truncated to the millisecond.
    expect(row).toEqual({ executed: '22:00:00.123000', updated: '22:05:00.654321' });
    // A version a microsecond newer is newer.
    const version = async (amount: bigint, lastUpdated: string) =>
      (await upsert({ ...obligation('micro-1', 1, 1, amount), execution_time: entry.execution_time, last_updated_ts: lastUpdated }))
        .outcome;
    expect(await version(3n, '2026-11-20T22:05:00.654322Z')).toBe('changed');
    expect(await version(4n, '2026-11-20T22:05:00.654321Z')).toBe('older_version');
  });
});
