import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { shortSolutions } from './lattice';
import { adjustment, margin, ReconWorld, trade } from './recon-world';

/*
 * The per-subtrader fingerprints decide which subtraders a run examines market by market. Their
 * weights used to come from fixed public seeds, so anyone able to post ledger entries could compute
 * corrections that keep both sums and both fingerprints. These tests play that attacker.
 */
const C1 = '2026-11-03T22:00:00Z';
const P1 = 2147483647n;
const P2 = 2147483629n;
const MARKETS = Array.from({ length: 10 }, (_, i) => `CRY-PERP-${String(i + 1).padStart(3, '0')}`);

describe('the reconciliation fingerprint key', () => {
  let world: ReconWorld;
  beforeAll(async () => {
    world = await ReconWorld.start();
    const details = MARKETS.map((market, i) => ({ subtrader: 'S1', market, pnl: 10_000n * BigInt(i + 1), fees: 100n }));
    await world.obligation({ cycle: C1, details, margins: [{ subtrader: 'S1', requirement: 5_000n }] });
    await world.post([
      trade(
        't/S1',
        C1,
        'S1',
        details.map((d) => ({ market: d.market, pnl: d.pnl, fees: d.fees })),
      ),
      margin('m/S1', C1, 'S1', 5_000n),
    ]);
  });
  afterAll(() => world.close());

  it('finds per-market corrections crafted against the public seeds, which keep both sums and both public fingerprints', async () => {
    // What the attacker computes: the weights of the documented public scheme for each market.
    const weights = await world.sql<{ h1: string; h2: string }>(
      `SELECT hashtextextended(m, 1)::text AS h1, hashtextextended(m, 2)::text AS h2 FROM unnest($1::text[]) WITH ORDINALITY AS u(m, i) ORDER BY i`,
      [MARKETS],
    );
    const low = (h: string, p: bigint) => (BigInt.asUintN(64, BigInt(h)) & 0x7fffffffn) % p;
    const high = (h: string, p: bigint) => ((BigInt.asUintN(64, BigInt(h)) >> 32n) & 0x7fffffffn) % p;
    // Variables: a pnl change and a fees change per market.
    const ones = MARKETS.map(() => 1n);
    const zeros = MARKETS.map(() => 0n);
    const [delta] = shortSolutions(2 * MARKETS.length, [
      { coefficients: [...ones, ...zeros], modulus: 0n },
      { coefficients: [...zeros, ...ones], modulus: 0n },
      { coefficients: [...weights.map((w) => low(w.h1, P1)), ...weights.map((w) => high(w.h1, P1))], modulus: P1 },
      { coefficients: [...weights.map((w) => low(w.h2, P2)), ...weights.map((w) => high(w.h2, P2))], modulus: P2 },
    ]);
    const pnl = delta.slice(0, MARKETS.length);
    const fees = delta.slice(MARKETS.length);
    const changed = MARKETS.map((market, i) => ({ market, pnl: pnl[i], fees: fees[i] })).filter((l) => l.pnl !== 0n || l.fees !== 0n);
    expect(changed.length).toBeGreaterThan(1);
    expect(delta.reduce((s, x) => s + (x < 0n ? -x : x), 0n)).toBeLessThan(10_000n);

    await world.post([adjustment('adj/crafted', C1, 'S1', changed)]);
    const run = await world.run(C1);
    const found = (await world.breaks(run.runId)).map((b) => [
      b.break_key,
      b.reason_code,
      b.pnl_difference_centicents,
      b.fees_difference_centicents,
    ]);
    expect(found).toEqual(
      changed
        .map((l) => [`settlement_details/${C1}/S1/${l.market}`, 'amount_mismatch', (-l.pnl).toString(), (-l.fees).toString()])
        .sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    );
  });

  describe('on two installations', () => {
    let other: TestDatabase;
    beforeAll(async () => {
      other = await createTestDatabase();
    });
    afterAll(() => other.drop());

    it('is generated per installation: the same detail gets other fingerprints', async () => {
      const insert = `INSERT INTO klear_settlement_detail (obligation_id, id, market_ticker, subtrader_id, pnl_centicents, fees_centicents, total_centicents, cycle)
                      VALUES ('probe', 'probe-1', 'PROBE-MKT', 'PROBE', 12345, 67, 12278, now())`;
      const read = `SELECT fingerprint_1::text AS f1, fingerprint_2::text AS f2 FROM klear_settlement_summary WHERE obligation_id = 'probe'`;
      await world.sql(insert);
      await other.dataSource.query(insert);
      const [mine] = await world.sql(read);
      const [theirs] = (await other.dataSource.query(read)) as Array<Record<string, string>>;
      expect(mine.f1).not.toBe(theirs.f1);
      expect(mine.f2).not.toBe(theirs.f2);
      await world.sql(`DELETE FROM klear_settlement_detail WHERE obligation_id = 'probe'`);
    });
  });

  it('is used through security-definer functions only: a role allowed to write details and postings cannot read it', async () => {
    const role = `klear_t_app_${randomBytes(4).toString('hex')}`;
    const runner = world.api.db.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.query(`CREATE ROLE ${role} NOLOGIN`);
      await runner.query(`GRANT INSERT, SELECT, DELETE ON klear_settlement_detail TO ${role}`);
      await runner.query('BEGIN');
      await runner.query(`SET LOCAL ROLE ${role}`);
      await runner.query(`INSERT INTO klear_settlement_detail (obligation_id, id, market_ticker, subtrader_id, pnl_centicents, fees_centicents, total_centicents, cycle)
                          VALUES ('role-probe', 'r-1', 'PROBE-MKT', 'PROBE', 5, 1, 4, now())`);
      await runner.query('SAVEPOINT before_read');
      await expect(runner.query(`SELECT * FROM recon_fingerprint_key`)).rejects.toThrow(/permission denied/);
      await runner.query('ROLLBACK TO SAVEPOINT before_read');
      await runner.query(`DELETE FROM klear_settlement_detail WHERE obligation_id = 'role-probe'`);
      await runner.query('COMMIT');
    } finally {
      if (runner.isTransactionActive) await runner.query('ROLLBACK');
      await runner.query(`DROP OWNED BY ${role}`).catch(() => undefined);
      await runner.query(`DROP ROLE IF EXISTS ${role}`);
      await runner.release();
    }
    const { ReconciliationSummaries } = await import('@app/reconciliation');
    expect(await world.api.app.get(ReconciliationSummaries).verify()).toEqual([]);
  });
});
