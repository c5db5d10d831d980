// Issue 18: an obligation keeps the buffer movement that settled it and its version count
// (klear_obligation.settled_by / version_count, migration ObligationSettledByStored), and GET /obligations
// reads them as columns. These tests try to make a kept value differ from what its sources say: every
// kind of write to each source table in a random order (entries in and out of a cycle's window, a
// receive naming an entry another obligation's window holds, an obligation moved, amended or removed,
// the tables truncated), and pairs of writers in separate transactions whose rows meet. The rule itself
// (which movement settles which obligation): test/ingestion/obligation-words.test.ts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import type { DataSource } from 'typeorm';
import { ChaosRandom } from '../chaos/chaos-seeds';
import { waitUntilBlockedOnALock } from '../support/lock-wait';

/** Each obligation's kept columns beside what its sources say now (the function the migration keeps them by). */
async function keptBesideComputed(dataSource: DataSource) {
  return (await dataSource.query(
    `SELECT o.id, o.version_count AS kept_count, o.settled_by AS kept,
            (SELECT count(*)::int FROM klear_obligation_version v WHERE v.obligation_id = o.id) AS count,
            klear_obligation_settled_by(o.id) AS computed
       FROM klear_obligation o ORDER BY o.id`,
  )) as Array<{ id: string; kept_count: number; kept: unknown; count: number; computed: unknown }>;
}

function expectKeptCurrent(rows: Awaited<ReturnType<typeof keptBesideComputed>>, step: string) {
  const stale = rows.filter((r) => r.kept_count !== r.count || JSON.stringify(r.kept) !== JSON.stringify(r.computed));
  expect({ step, stale }).toEqual({ step, stale: [] });
}

const DAY = 86_400_000;
const START = Date.UTC(2026, 10, 1, 21);
const iso = (ms: number) => new Date(ms).toISOString();

const INSERT_OBLIGATION = `INSERT INTO klear_obligation (id, user_id, amount_centicents, fees_centicents, maintenance_margin_centicents,
  pnl_centicents, execution_time, last_updated_ts, content_sha256, settlement_detail_count, first_pulled_at, pulled_at, archive_id, asset_class)
  VALUES ($1, 'member', $2, 0, 0, $2, $3, $3, 'sha', 0, $3, $3, 1, $4)`;
const INSERT_ENTRY = `INSERT INTO klear_balance_history (business_transaction_id, created_ts, balance_delta_centicents, locked_balance_delta_centicents,
  reason, first_pulled_at, archive_id) VALUES ($1, $2, $3, 0, $4, $2, 1)`;
const INSERT_RECEIVE = `INSERT INTO klear_receive (obligation_id, id, type, amount_centicents, external_reference, created_ts)
  VALUES ($1, $2, 'wire', 1, $3, now())`;
const INSERT_VERSION = `INSERT INTO klear_obligation_version (obligation_id, last_updated_ts, content_sha256, amount_centicents, fees_centicents,
  maintenance_margin_centicents, pnl_centicents, first_pulled_at, archive_id) VALUES ($1, now(), $2, $3, 0, 0, $3, now(), 1)`;

const insertObligation = (q: DataSource, id: string, assetClass: string, at: string, amount: bigint) =>
  q.query(INSERT_OBLIGATION, [id, amount.toString(), at, assetClass]);
const insertEntry = (q: DataSource, transaction: string, at: string, delta: bigint, reason = 'settlement_payment') =>
  q.query(INSERT_ENTRY, [transaction, at, delta.toString(), reason]);
const insertReceive = (q: DataSource, obligation: string, id: string, reference: string) =>
  q.query(INSERT_RECEIVE, [obligation, id, reference]);
const insertVersion = (q: DataSource, obligation: string, amount: bigint, sha: string) =>
  q.query(INSERT_VERSION, [obligation, sha, amount.toString()]);

describe('an obligation keeps the buffer movement that settled it and its version count, whoever writes its sources', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  it('matches what its sources say after each of 600 random writes of 20 kinds to obligations, versions, receives and balance entries', async () => {
    const q = db.dataSource;
    await q.query(`TRUNCATE klear_obligation, klear_obligation_version, klear_receive, klear_balance_history`);
    // The same walk on every run.
    const random = new ChaosRandom(18, 'obligation-settled-by');
    const next = () => random.next();
    const pick = <T>(items: readonly T[]): T => random.pick(items);
    const amounts = [-500_000n, -250_000n, 0n, 250_000n, 500_000n];
    const classes = ['Crypto', 'Sports'];
    // A few cycles a day apart, so that entries fall into and between windows and obligations move between them.
    const at = () => iso(START + Math.floor(next() * 6) * DAY + Math.floor(next() * 3) * 3_600_000);
    let made = 0;
    const reasons = ['settlement_payment', 'settlement_receipt', 'deposit'];
    const kinds = new Map<string, number>();
    const matchedBy = new Set<string>();
    for (let step = 0; step < 600; step++) {
      const obligations = (await q.query(`SELECT id FROM klear_obligation`)) as Array<{ id: string }>;
      const entries = (await q.query(`SELECT id, business_transaction_id FROM klear_balance_history`)) as Array<{
        id: string;
        business_transaction_id: string;
      }>;
      const receives = (await q.query(`SELECT obligation_id, id FROM klear_receive`)) as Array<{ obligation_id: string; id: string }>;
      const versions = (await q.query(`SELECT id FROM klear_obligation_version`)) as Array<{ id: string }>;
      const ob = () => pick(obligations).id;
      const entry = () => pick(entries).id;
      const receive = () => pick(receives);
      // Each kind of write, offered only when there is a row for it to write.
      const writes: Record<string, () => Promise<unknown>> = {
        obligation: () => insertObligation(q, `ob-${made++}`, pick(classes), at(), pick(amounts)),
        ...(obligations.length >= 3 && {
          'obligation moved': () => q.query(`UPDATE klear_obligation SET execution_time = $2 WHERE id = $1`, [ob(), at()]),
          'obligation amended': () =>
            q.query(`UPDATE klear_obligation SET amount_centicents = $2 WHERE id = $1`, [ob(), `${pick(amounts)}`]),
          'obligation changes class': () => q.query(`UPDATE klear_obligation SET asset_class = $2 WHERE id = $1`, [ob(), pick(classes)]),
          'obligation renamed': () => q.query(`UPDATE klear_obligation SET id = $2 WHERE id = $1`, [ob(), `ob-${made++}`]),
          'obligation removed': () => q.query(`DELETE FROM klear_obligation WHERE id = $1`, [ob()]),
          version: () => insertVersion(q, ob(), pick(amounts), `sha-${step}`),
          entry: () => insertEntry(q, `bt-${step}`, at(), pick(amounts), pick(reasons)),
          'entry with a named transaction': () =>
            insertEntry(q, pick(entries.map((e) => e.business_transaction_id).concat('bt-x')), at(), pick(amounts)),
        }),
        ...(obligations.length >= 3 &&
          versions.length > 0 && {
            'version amended': () =>
              q.query(`UPDATE klear_obligation_version SET amount_centicents = $2 WHERE id = $1`, [pick(versions).id, `${pick(amounts)}`]),
            'version removed': () => q.query(`DELETE FROM klear_obligation_version WHERE id = $1`, [pick(versions).id]),
          }),
        ...(obligations.length >= 3 &&
          entries.length > 0 && {
            'entry moved': () => q.query(`UPDATE klear_balance_history SET created_ts = $2 WHERE id = $1`, [entry(), at()]),
            'entry changes reason': () => q.query(`UPDATE klear_balance_history SET reason = $2 WHERE id = $1`, [entry(), pick(reasons)]),
            'entry changes amount': () =>
              q.query(`UPDATE klear_balance_history SET balance_delta_centicents = $2 WHERE id = $1`, [entry(), `${pick(amounts)}`]),
            'entry changes transaction': () =>
              q.query(`UPDATE klear_balance_history SET business_transaction_id = $2 WHERE id = $1`, [entry(), `bt-r${step}`]),
            'entry removed': () => q.query(`DELETE FROM klear_balance_history WHERE id = $1`, [entry()]),
            receive: () => insertReceive(q, ob(), `rc-${step}`, pick(entries).business_transaction_id),
          }),
        ...(obligations.length >= 3 &&
          receives.length > 0 && {
            'receive names another entry': () => {
              const r = receive();
              return q.query(`UPDATE klear_receive SET external_reference = $3 WHERE obligation_id = $1 AND id = $2`, [
                r.obligation_id,
                r.id,
                pick(entries.map((e) => e.business_transaction_id).concat('bt-none')),
              ]);
            },
            'receive moves to another obligation': () => {
              const r = receive();
              return q.query(`UPDATE klear_receive SET obligation_id = $3 WHERE obligation_id = $1 AND id = $2`, [
                r.obligation_id,
                r.id,
                ob(),
              ]);
            },
            'receive removed': () => {
              const r = receive();
              return q.query(`DELETE FROM klear_receive WHERE obligation_id = $1 AND id = $2`, [r.obligation_id, r.id]);
            },
          }),
      };
      const kind = pick(Object.keys(writes));
      await writes[kind]();
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      const rows = await keptBesideComputed(q);
      expectKeptCurrent(rows, `step ${step}: ${kind}`);
      for (const r of rows) if (r.kept) matchedBy.add((r.kept as { matched_by: string }).matched_by);
    }
    // The walk reached every kind of write and every way a movement is matched.
    expect(kinds.size).toBe(20);
    expect(Math.min(...kinds.values())).toBeGreaterThanOrEqual(5);
    expect([...matchedBy].sort()).toEqual(['amount', 'only_settlement_of_its_cycle', 'receive_reference']);

    await q.query(`TRUNCATE klear_receive`);
    expectKeptCurrent(await keptBesideComputed(q), 'receives truncated');
    await q.query(`TRUNCATE klear_balance_history`);
    expectKeptCurrent(await keptBesideComputed(q), 'balance history truncated');
    expect((await q.query(`SELECT count(*)::int AS n FROM klear_obligation WHERE settled_by IS NOT NULL`))[0].n).toBe(0);
    await q.query(`TRUNCATE klear_obligation_version`);
    expect((await q.query(`SELECT count(*)::int AS n FROM klear_obligation WHERE version_count <> 0`))[0].n).toBe(0);
  });

  it('keeps the payment that settles a cycle: its window, its amount, and the entry its receive names', async () => {
    const q = db.dataSource;
    await q.query(`TRUNCATE klear_obligation, klear_obligation_version, klear_receive, klear_balance_history`);
    await insertObligation(q, 'day-1', 'Crypto', iso(START), -500_000n);
    await insertEntry(q, 'bt-pay-1', iso(START + 3_600_000), -500_000n);
    const settledBy = async (id: string) =>
      (
        (await q.query(`SELECT settled_by FROM klear_obligation WHERE id = $1`, [id])) as Array<{
          settled_by: Record<string, string> | null;
        }>
      )[0].settled_by;
    expect(await settledBy('day-1')).toEqual({
      business_transaction_id: 'bt-pay-1',
      created_ts: '2026-11-01T22:00:00.000000Z',
      balance_delta_centicents: '-500000',
      reason: 'settlement_payment',
      matched_by: 'amount',
    });
    // The next cycle ends day 1's window before the payment: it is day 2's now (and not its amount).
    await insertObligation(q, 'day-2', 'Crypto', iso(START + 1_800_000), -100_000n);
    expect(await settledBy('day-1')).toBeNull();
    expect(await settledBy('day-2')).toMatchObject({ business_transaction_id: 'bt-pay-1', matched_by: 'only_settlement_of_its_cycle' });
    // A receive of day 1 names the entry: it is day 1's, by reference, and no longer day 2's candidate.
    await insertReceive(q, 'day-1', 'rc-1', 'bt-pay-1');
    expect(await settledBy('day-1')).toMatchObject({ business_transaction_id: 'bt-pay-1', matched_by: 'receive_reference' });
    expect(await settledBy('day-2')).toBeNull();
    // Another asset class's cycle does not end Crypto's window.
    await q.query(`DELETE FROM klear_receive`);
    await q.query(`UPDATE klear_obligation SET asset_class = 'Sports' WHERE id = 'day-2'`);
    expect(await settledBy('day-1')).toMatchObject({ business_transaction_id: 'bt-pay-1', matched_by: 'amount' });
  });

  describe('two writers in separate transactions whose rows meet: the second to commit refreshes after the first', () => {
    const cases: Array<{
      name: string;
      first: (q: TxQuery) => Promise<unknown>;
      second: (q: TxQuery) => Promise<unknown>;
      /** What each obligation is kept as having been settled by, once both committed. */
      settled: Record<string, [string, string] | null>;
    }> = [
      {
        name: 'a settlement entry, then the receive that names it',
        first: (q) => q(INSERT_ENTRY, ['bt-meet', iso(START + 3_600_000), '-7', 'settlement_payment']),
        second: (q) => q(INSERT_RECEIVE, ['day-1', 'rc-meet', 'bt-meet']),
        settled: { 'day-1': ['bt-meet', 'receive_reference'] },
      },
      {
        name: 'the receive, then the entry it names',
        first: (q) => q(INSERT_RECEIVE, ['day-1', 'rc-meet', 'bt-meet']),
        second: (q) => q(INSERT_ENTRY, ['bt-meet', iso(START + 3_600_000), '-7', 'settlement_payment']),
        settled: { 'day-1': ['bt-meet', 'receive_reference'] },
      },
      {
        name: 'a settlement entry, then the next cycle that ends the window before it',
        first: (q) => q(INSERT_ENTRY, ['bt-meet', iso(START + 3_600_000), '-500000', 'settlement_payment']),
        second: (q) => q(INSERT_OBLIGATION, ['day-2', '-500000', iso(START + 1_800_000), 'Crypto']),
        settled: { 'day-1': null, 'day-2': ['bt-meet', 'amount'] },
      },
      {
        name: 'the next cycle, then a settlement entry in its window',
        first: (q) => q(INSERT_OBLIGATION, ['day-2', '-500000', iso(START + 1_800_000), 'Crypto']),
        second: (q) => q(INSERT_ENTRY, ['bt-meet', iso(START + 3_600_000), '-500000', 'settlement_payment']),
        settled: { 'day-1': null, 'day-2': ['bt-meet', 'amount'] },
      },
      {
        name: 'a version with the amount paid, then the entry',
        first: (q) => q(INSERT_VERSION, ['day-1', 'sha-meet', '-42']),
        second: (q) => q(INSERT_ENTRY, ['bt-meet', iso(START + 3_600_000), '-42', 'settlement_payment']),
        settled: { 'day-1': ['bt-meet', 'amount'] },
      },
    ];
    for (const c of cases) {
      it(`${c.name}: kept as its sources say once both commit`, async () => {
        const q = db.dataSource;
        await q.query(`TRUNCATE klear_obligation, klear_obligation_version, klear_receive, klear_balance_history`);
        await insertObligation(q, 'day-1', 'Crypto', iso(START), -500_000n);
        await insertEntry(q, 'bt-other', iso(START + 7_200_000), -1n);
        const first = q.createQueryRunner();
        const second = q.createQueryRunner();
        await first.connect();
        await second.connect();
        try {
          await first.startTransaction('READ COMMITTED');
          await second.startTransaction('READ COMMITTED');
          await c.first((sql, params) => first.query(sql, params));
          // The second writes while the first is open: its refresh waits for the first's commit.
          const secondDone = c.second((sql, params) => second.query(sql, params));
          await waitUntilBlockedOnALock(q, 'advisory');
          await first.commitTransaction();
          await secondDone;
          await second.commitTransaction();
        } finally {
          await first.release();
          await second.release();
        }
        const rows = await keptBesideComputed(q);
        expectKeptCurrent(rows, c.name);
        const kept = Object.fromEntries(
          rows.map((r) => {
            const m = r.kept as { business_transaction_id: string; matched_by: string } | null;
            return [r.id, m && [m.business_transaction_id, m.matched_by]];
          }),
        );
        expect(kept).toEqual(c.settled);
      });
    }
  });

  it('refuses a write to its sources in a REPEATABLE READ transaction (a snapshot from before the lock), writing nothing', async () => {
    const q = db.dataSource;
    await q.query(`TRUNCATE klear_obligation, klear_obligation_version, klear_receive, klear_balance_history`);
    await insertObligation(q, 'day-1', 'Crypto', iso(START), -500_000n);
    for (const isolation of ['REPEATABLE READ', 'SERIALIZABLE'] as const) {
      await expect(
        q.transaction(isolation, (tx) => tx.query(INSERT_ENTRY, ['bt-rr', iso(START + 3_600_000), '-500000', 'settlement_payment'])),
      ).rejects.toThrow(/klear_balance_history is written in READ COMMITTED transactions \(this one is (repeatable read|serializable)\)/);
    }
    expect(await q.query(`SELECT count(*)::int AS n FROM klear_balance_history`)).toEqual([{ n: 0 }]);
    expect(await q.query(`SELECT settled_by FROM klear_obligation`)).toEqual([{ settled_by: null }]);
  });
});

type TxQuery = (sql: string, params: unknown[]) => Promise<unknown>;
