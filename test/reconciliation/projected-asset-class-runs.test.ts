import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { LedgerEntryInput } from '@app/ledger';
import { ReconcileProjectedJob } from '@app/reconciliation';
import { type EstimateClassSpec, ReconWorld, trade } from './recon-world';

/*
 * Projected runs are per asset class, like a cycle's (docs/ledger-and-breaks.md, "projected"): a
 * two-class world (Crypto and Equity, settled through C1, both estimates projecting C2, subtrader S1
 * in both) projected one run per class. The answer key is derived from the world's own spec by the
 * rule (listed subtraders one by one, the others in aggregate, only that class's bookings for the
 * open cycles up to next_runtime), each run must find exactly its class's breaks, its explainability
 * totals are its class's, and bookings of one class never explain a projected difference of another.
 */
const C1 = '2026-11-03T22:00:00Z';
const C2 = '2026-11-04T22:00:00Z';
const C3 = '2026-11-05T22:00:00Z';
const PULLED_AT = '2026-11-04T15:00:00Z';

interface Booking {
  id: string;
  assetClass: string;
  cycle: string;
  subtrader: string;
  pnl: bigint;
  fees: bigint;
}

const ESTIMATE: Record<string, EstimateClassSpec> = {
  Crypto: {
    user: { variationMargin: 10_000n, fees: 100n },
    subtraders: { S1: { variationMargin: 5_000n, fees: 50n }, S2: { variationMargin: 3_000n, fees: 30n } },
    nextRuntime: C2,
  },
  Equity: {
    user: { variationMargin: 4_000n, fees: 40n },
    subtraders: { S1: { variationMargin: 1_500n, fees: 15n }, S4: { variationMargin: 2_000n, fees: 20n } },
    nextRuntime: C2,
  },
};

const BOOKINGS: Booking[] = [
  // Crypto: S1 as projected, S2 10 short, S3 (not listed) what the omitted aggregate holds; a booking for C3 is beyond the projection.
  { id: 'c/S1', assetClass: 'Crypto', cycle: C2, subtrader: 'S1', pnl: 5_000n, fees: 50n },
  { id: 'c/S2', assetClass: 'Crypto', cycle: C2, subtrader: 'S2', pnl: 2_990n, fees: 30n },
  { id: 'c/S3', assetClass: 'Crypto', cycle: C2, subtrader: 'S3', pnl: 2_000n, fees: 20n },
  { id: 'c/S3/C3', assetClass: 'Crypto', cycle: C3, subtrader: 'S3', pnl: 700n, fees: 0n },
  // A settled cycle's booking counts in no projection.
  { id: 'c/S2/C1', assetClass: 'Crypto', cycle: C1, subtrader: 'S2', pnl: 123n, fees: 0n },
  // Equity: S1 as projected, S4 not booked, S5 (not listed) 95 short of the omitted aggregate.
  { id: 'e/S1', assetClass: 'Equity', cycle: C2, subtrader: 'S1', pnl: 1_500n, fees: 15n },
  { id: 'e/S5', assetClass: 'Equity', cycle: C2, subtrader: 'S5', pnl: 400n, fees: 0n },
];

interface ExpectedProjected {
  key: string;
  reason_code: string;
  subtrader_id: string | null;
  klear_value: string | null;
  internal_value: string | null;
  difference: string;
}

/** The answer key of one class, by the rule, from the world's spec (never from what a run found). */
function answerKey(assetClass: string, bookings: Booking[]): ExpectedProjected[] {
  const spec = ESTIMATE[assetClass];
  const open = (b: Booking) => b.assetClass === assetClass && b.cycle > C1 && b.cycle <= spec.nextRuntime!;
  const booked = new Map<string, bigint>();
  for (const b of bookings.filter(open)) booked.set(b.subtrader, (booked.get(b.subtrader) ?? 0n) + b.pnl - b.fees);
  const found: ExpectedProjected[] = [];
  const finding = (key: string, subtrader: string | null, klear: bigint, internal: bigint | undefined, reason: string) => {
    if (klear !== (internal ?? 0n)) {
      found.push({
        key,
        reason_code: reason,
        subtrader_id: subtrader,
        klear_value: klear.toString(),
        internal_value: internal?.toString() ?? null,
        difference: (klear - (internal ?? 0n)).toString(),
      });
    }
  };
  let listed = 0n;
  for (const [subtrader, line] of Object.entries(spec.subtraders)) {
    const klear = line.variationMargin - line.fees;
    listed += klear;
    const internal = booked.get(subtrader);
    finding(
      `projected/${spec.nextRuntime}/subtrader/${subtrader}`,
      subtrader,
      klear,
      internal,
      internal === undefined ? 'missing_internal' : 'projected_mismatch',
    );
  }
  const unlisted = [...booked].filter(([s]) => !(s in spec.subtraders)).map(([, v]) => v);
  const internal = unlisted.length ? unlisted.reduce((a, b) => a + b, 0n) : undefined;
  finding(
    `projected/${spec.nextRuntime}/omitted`,
    null,
    spec.user.variationMargin - spec.user.fees - listed,
    internal,
    'projected_mismatch',
  );
  return found.sort((a, b) => (a.key < b.key ? -1 : 1));
}

const entry = (b: Booking): LedgerEntryInput => ({
  ...trade(`t/${b.id}`, b.cycle, b.subtrader, [{ market: `${b.assetClass.slice(0, 3).toUpperCase()}-1`, pnl: b.pnl, fees: b.fees }]),
  asset_class: b.assetClass,
});

describe('projected runs per asset class', () => {
  jest.setTimeout(120_000);
  let world: ReconWorld;
  const bookings = [...BOOKINGS];
  const http = () => world.api.http();

  beforeAll(async () => {
    world = await ReconWorld.start();
    await world.obligation({ cycle: C1, id: 'obl-crypto-c1' });
    await world.obligation({ cycle: C1, id: 'obl-equity-c1' });
    await world.sql(`UPDATE klear_obligation SET asset_class = 'Equity' WHERE id = 'obl-equity-c1'`);
    await world.post(bookings.map(entry));
    await world.estimateByClass(PULLED_AT, ESTIMATE);
  });
  afterAll(() => world?.close());

  const found = async (runId: string): Promise<ExpectedProjected[]> =>
    (await world.breaks(runId, ['projected']))
      .map((b) => ({
        key: b.break_key,
        reason_code: b.reason_code,
        subtrader_id: b.subtrader_id,
        klear_value: b.klear_value_centicents,
        internal_value: b.internal_value_centicents,
        difference: b.difference_centicents,
      }))
      .sort((a, b) => (a.key < b.key ? -1 : 1));

  const totalsOf = async (runId: string) =>
    ((await world.queries.getRun(runId)).summary as { projected_totals: { klear_total: string; internal_total: string; found: string } })
      .projected_totals;

  it('finds in each asset class projected run exactly the answer key breaks of that class, explained by that class alone', async () => {
    // The key is not trivial: each class has breaks of its own, and S1 (in both) has none in either.
    expect(answerKey('Crypto', bookings).map((b) => b.key)).toEqual([`projected/${C2}/subtrader/S2`]);
    expect(answerKey('Equity', bookings).map((b) => b.key)).toEqual([`projected/${C2}/omitted`, `projected/${C2}/subtrader/S4`]);
    for (const assetClass of ['Crypto', 'Equity']) {
      const run = await world.runProjected(assetClass);
      expect({ assetClass, breaks: await found(run.runId) }).toEqual({ assetClass, breaks: answerKey(assetClass, bookings) });
      const stored = await world.queries.getRun(run.runId);
      expect({ scope_key: stored.scope_key, asset_class: stored.asset_class }).toEqual({
        scope_key: `projected/${assetClass}`,
        asset_class: assetClass,
      });
      // Explainability per class: the class's user line minus the class's bookings for the projected cycle is what was found.
      const spec = ESTIMATE[assetClass];
      const classBooked = bookings.filter((b) => b.assetClass === assetClass && b.cycle === C2).reduce((s, b) => s + b.pnl - b.fees, 0n);
      const totals = await totalsOf(run.runId);
      expect(totals).toEqual({
        klear_total: (spec.user.variationMargin - spec.user.fees).toString(),
        internal_total: classBooked.toString(),
        found: (spec.user.variationMargin - spec.user.fees - classBooked).toString(),
      });
    }
  });

  it('explains nothing in one class with bookings of another: an Equity booking that would cancel the Crypto S2 difference leaves it, and moves Equity', async () => {
    const crafted: Booking = { id: 'crafted/S2', assetClass: 'Equity', cycle: C2, subtrader: 'S2', pnl: 10n, fees: 0n };
    await world.post([entry(crafted)]);
    bookings.push(crafted);
    const crypto = await world.runProjected('Crypto');
    expect(await found(crypto.runId)).toEqual(answerKey('Crypto', bookings));
    expect((await found(crypto.runId)).find((b) => b.subtrader_id === 'S2')).toMatchObject({ difference: '10' });
    expect(crypto).toMatchObject({ opened: 0, reopened: [], closed: [] });
    const equity = await world.runProjected('Equity');
    const equityBreaks = await found(equity.runId);
    expect(equityBreaks).toEqual(answerKey('Equity', bookings));
    // S2 is not listed in Equity: its booking joins the omitted aggregate there (400 + 10 against 495).
    expect(equityBreaks.find((b) => b.key === `projected/${C2}/omitted`)).toMatchObject({ internal_value: '410', difference: '85' });
    const stored = await world.sql(
      `SELECT scope_key, asset_class, break_key FROM recon_break WHERE "check" = 'projected' AND status = 'open' ORDER BY scope_key, break_key`,
    );
    expect(stored).toEqual([
      { scope_key: 'projected/Crypto', asset_class: 'Crypto', break_key: `projected/${C2}/subtrader/S2` },
      { scope_key: 'projected/Equity', asset_class: 'Equity', break_key: `projected/${C2}/omitted` },
      { scope_key: 'projected/Equity', asset_class: 'Equity', break_key: `projected/${C2}/subtrader/S4` },
    ]);
  });

  it('asks which class when the latest estimate projects several, runs and filters one over HTTP, and the job projects each stale class', async () => {
    const several = await http().post('/reconciliations').set('authorization', world.as('operator')).send({ projected: true });
    expect({ status: several.status, code: several.body.code, classes: several.body.details?.asset_classes }).toEqual({
      status: 422,
      code: 'SEVERAL_ASSET_CLASSES',
      classes: ['Crypto', 'Equity'],
    });
    const missing = await http()
      .post('/reconciliations')
      .set('authorization', world.as('operator'))
      .send({ projected: true, asset_class: 'Rates' });
    expect({ status: missing.status, code: missing.body.code }).toEqual({ status: 422, code: 'NO_ESTIMATE_SNAPSHOT' });

    const equity = await http()
      .post('/reconciliations')
      .set('authorization', world.as('operator'))
      .send({ projected: true, asset_class: 'Equity' });
    expect(equity.status).toBe(201);
    expect(equity.body).toMatchObject({
      scope: 'projected',
      asset_class: 'Equity',
      cycle: null,
      break_count: answerKey('Equity', bookings).length,
    });
    const listed = await http().get('/breaks?asset_class=Equity&check=projected').set('authorization', world.as('viewer'));
    expect(listed.body.data.map((b: { key: string; asset_class: string }) => [b.key, b.asset_class]).sort()).toEqual(
      answerKey('Equity', bookings).map((b) => [b.key, 'Equity']),
    );

    // The job: nothing changed since each class's last run, so nothing to project; a Crypto booking makes Crypto alone stale.
    const job = world.api.app.get(ReconcileProjectedJob);
    const details: Array<Record<string, unknown>> = [];
    const context = {
      signal: new AbortController().signal,
      read: () => undefined,
      wrote: () => undefined,
      setDetails: (d: Record<string, unknown>) => void details.push(d),
    };
    await job.run(context as never);
    expect(details.pop()).toEqual({ skipped: 'inputs unchanged' });
    const late: Booking = { id: 'late/S4', assetClass: 'Crypto', cycle: C2, subtrader: 'S4', pnl: 1n, fees: 0n };
    await world.post([entry(late)]);
    bookings.push(late);
    await job.run(context as never);
    const projected = details.pop()!.projected as Array<{ asset_class: string; run_id: string }>;
    expect(projected.map((p) => p.asset_class)).toEqual(['Crypto']);
    expect(await found(projected[0].run_id)).toEqual(answerKey('Crypto', bookings));
  });
});
