import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobContext } from '@app/jobs';
import { ReconcileCyclesJob } from '@app/reconciliation';
import { expectedFor, FIRST_DISCREPANCY_KINDS, SimulatedReconWorld, type LedgerFeed } from './simulated-recon-world';

async function reconcileEveryCycle(fixture: SimulatedReconWorld, feed: LedgerFeed): Promise<Map<string, string>> {
  const runs = new Map<string, string>();
  for (const cycle of feed.cycles) {
    const outcome = await fixture.reconciliation.start({ cycle: new Date(cycle) }, 'test');
    runs.set(cycle, outcome.runId);
  }
  return runs;
}

describe.each([
  { seed: 7, subtraders: 8, markets: 5, days: 4, discrepancies: FIRST_DISCREPANCY_KINDS.map((kind) => ({ kind })) },
  {
    seed: 4242,
    subtraders: 12,
    markets: 7,
    days: 3,
    discrepancies: [
      { kind: 'missing_fee' },
      { kind: 'missing_fee' },
      { kind: 'duplicated_entry' },
      { kind: 'extra_market_row' },
      { kind: 'missing_buffer_movement' },
      { kind: 'unknown_subtrader' },
      { kind: 'pnl_off_by_one' },
    ],
  },
])('reconciliation against the simulator answer key (seed $seed)', ({ discrepancies, ...world }) => {
  let fixture: SimulatedReconWorld;
  let feed: LedgerFeed;
  let runs: Map<string, string>;

  beforeAll(async () => {
    fixture = await SimulatedReconWorld.start(world);
    await fixture.ingestKlear();
    feed = await fixture.feed({ discrepancies });
    await fixture.postLedger(feed.entries);
    runs = await reconcileEveryCycle(fixture, feed);
  });
  afterAll(() => fixture.close());

  it('reports exactly the answer key breaks of every cycle: none missed, none extra, same reasons and amounts, same order', async () => {
    expect(feed.answer_key.breaks.length).toBeGreaterThanOrEqual(discrepancies.length);
    for (const cycle of feed.cycles) {
      expect({ cycle, breaks: await fixture.breaksOf(runs.get(cycle)!) }).toEqual({ cycle, breaks: expectedFor(feed, cycle) });
    }
  });

  it('finds Klear consistent with itself and no locked-balance difference when no withdrawal is in flight', async () => {
    for (const runId of runs.values()) {
      expect(await fixture.breaksOf(runId, ['klear_consistency'])).toEqual([]);
      expect((await fixture.breaksOf(runId, ['settlement_buffer'])).filter((b) => b.reason_code === 'locked_mismatch')).toEqual([]);
    }
  });

  it('explains every subtrader: its settlement-detail breaks add up to the difference of the two totals', async () => {
    const rows = (await fixture.api.db.dataSource.query(
      `SELECT r.run_id::text, r.subtrader_id, r.klear_total_centicents::text AS k, r.internal_total_centicents::text AS i,
              (SELECT coalesce(sum(o.difference_centicents), 0)::text FROM recon_break_observation o
                WHERE o.run_id = r.run_id AND o.subtrader_id = r.subtrader_id AND o."check" = 'settlement_details') AS breaks
         FROM recon_subtrader_rollup r WHERE r.run_id = ANY($1::bigint[])`,
      [[...runs.values()]],
    )) as Array<{ k: string; i: string; breaks: string }>;
    const subtradersWithBreaks = new Set(
      feed.answer_key.breaks.filter((b) => b.check === 'settlement_details').map((b) => `${b.cycle}/${b.key.split('/')[2]}`),
    );
    expect(rows).toHaveLength(subtradersWithBreaks.size);
    for (const row of rows) expect(BigInt(row.k) - BigInt(row.i)).toBe(BigInt(row.breaks));
  });

  it('changes nothing when the same ledger is posted again: same inputs, identical breaks in the same order', async () => {
    const again = await fixture.postLedger(feed.entries);
    expect(again).toEqual({ created: 0, unchanged: feed.entries.length });
    for (const [cycle, runId] of runs) {
      const rerun = await fixture.reconciliation.start({ cycle: new Date(cycle) }, 'test');
      expect(rerun.inputsSha256).toBe((await fixture.queries.getRun(runId)).inputs_sha256);
      expect(rerun).toMatchObject({ opened: 0, reopened: [], closed: [] });
      const before = (await fixture.queries.runBreaks(runId, { limit: 100_000 })).map(({ run_id: _, ...rest }) => rest);
      const after = (await fixture.queries.runBreaks(rerun.runId, { limit: 100_000 })).map(({ run_id: _, ...rest }) => rest);
      expect(after).toEqual(before);
      const comparison = await fixture.queries.compare(rerun.runId, runId);
      expect(comparison).toMatchObject({
        same_inputs: true,
        only_in_run: [],
        only_in_other: [],
        changed: [],
        unchanged_count: before.length,
      });
    }
  });
});

describe('a clean ledger feed', () => {
  let fixture: SimulatedReconWorld;
  beforeAll(async () => {
    fixture = await SimulatedReconWorld.start({ seed: 99, subtraders: 10, markets: 6, days: 3 });
  });
  afterAll(() => fixture.close());

  it('reconciles every cycle to zero breaks of any check', async () => {
    await fixture.ingestKlear();
    const feed = await fixture.feed({});
    expect(feed.answer_key.breaks).toEqual([]);
    await fixture.postLedger(feed.entries);
    for (const cycle of feed.cycles) {
      const outcome = await fixture.reconciliation.start({ cycle: new Date(cycle) }, 'test');
      expect({ cycle, breaks: outcome.breakCount }).toEqual({ cycle, breaks: 0 });
      const run = await fixture.queries.getRun(outcome.runId);
      expect(run.status).toBe('succeeded');
      const totals = (run.summary as { settlement_details_totals: Record<string, string> }).settlement_details_totals;
      expect(totals.klear_total).toBe(totals.internal_total);
      expect(totals.klear_total).not.toBe('0');
    }
  });

  it('lets the reconcile_cycles job run only the cycles whose inputs changed since their last run', async () => {
    const details: Array<Record<string, unknown>> = [];
    const context = {
      runId: '1',
      job: 'reconcile_cycles',
      trigger: 'manual',
      signal: new AbortController().signal,
      read() {},
      wrote() {},
      progress() {},
      setDetails: (d: Record<string, unknown>) => details.push(d),
    } as unknown as JobContext;
    const job = fixture.api.app.get(ReconcileCyclesJob);
    await job.run(context);
    expect(details.at(-1)).toEqual({ reconciled: [] });
    const feed = await fixture.feed({});
    const cycle = feed.cycles[0];
    const subtrader = feed.entries.find((e) => e.cycle === cycle && e.subtrader_id)!.subtrader_id!;
    await fixture.postLedger([
      {
        external_id: `adj/late-fee/${cycle}/${subtrader}`,
        entry_type: 'adjustment',
        effective_at: cycle,
        cycle,
        subtrader_id: subtrader,
        description: 'late fee',
        postings: [
          { account: 'trading_fees', market_ticker: 'LATE-FEE', amount_centicents: '-700' },
          { account: 'klear_settlement', amount_centicents: '700' },
        ],
      },
    ]);
    await job.run(context);
    expect(details.at(-1)).toEqual({ reconciled: [`${cycle}/Crypto`] });
    const [run] = await fixture.queries.listRuns({ limit: 1 });
    expect(await fixture.breaksOf(run.id)).toEqual([
      {
        key: `settlement_details/${cycle}/${subtrader}/LATE-FEE`,
        check: 'settlement_details',
        cycle,
        asset_class: 'Crypto',
        reason_code: 'missing_klear',
        klear_value: null,
        internal_value: '-700',
        difference: '700',
        pnl_difference: '0',
        fees_difference: '-700',
      },
    ]);
  });
});

describe.each([{ seed: 20 }, { seed: 2027 }])(
  'reconciliation against the answer key: reversals, windows, Klear errors, keys with /, two cycles a day (seed $seed)',
  ({ seed }) => {
    let fixture: SimulatedReconWorld;
    let feed: LedgerFeed;
    let runs: Map<string, string>;

    beforeAll(async () => {
      // Two cycles a day (12:00 and 17:00 ET): six cycles over four ET days.
      fixture = await SimulatedReconWorld.start({ seed, subtraders: 6, markets: 4, days: 6, settlementTimeEt: '12:00,17:00' });
      const { cycles } = await fixture.feed({});
      const evenings = cycles.filter((c) => new Date(c).getUTCHours() === 22); // 17:00 EST
      await fixture.klearErrors([
        { kind: 'wrong_margin_delta', cycle: cycles[3] },
        { kind: 'wrong_detail_total', cycle: cycles[1] },
      ]);
      await fixture.ingestKlear();
      feed = await fixture.feed({
        discrepancies: [
          ...FIRST_DISCREPANCY_KINDS.filter((kind) => kind !== 'missing_buffer_movement').map((kind) => ({ kind })),
          { kind: 'missing_buffer_movement', cycle: cycles[3] },
          // The 17:00 payment booked without its reference at 01:00 the next ET day: matched by amount.
          { kind: 'late_buffer_booking', cycle: evenings[1] },
          { kind: 'split_buffer_booking', cycle: cycles[4] },
          { kind: 'reversed_buffer_movement', cycle: cycles[5] },
          { kind: 'slashed_ids', cycle: cycles[5] },
        ],
      });
      await fixture.postLedger(feed.entries);
      runs = await reconcileEveryCycle(fixture, feed);
    });
    afterAll(() => fixture.close());

    it('reports exactly the answer key breaks of every cycle, Klear consistency included', async () => {
      const kinds = new Set(feed.answer_key.breaks.map((b) => b.check));
      expect(kinds).toEqual(new Set(['settlement_details', 'maintenance_margin', 'settlement_buffer', 'klear_consistency']));
      expect(feed.answer_key.breaks.some((b) => b.key.includes('%2F'))).toBe(true);
      for (const cycle of feed.cycles) {
        expect({ cycle, breaks: await fixture.breaksOf(runs.get(cycle)!) }).toEqual({ cycle, breaks: expectedFor(feed, cycle) });
      }
    });

    it('reports buffer breaks only in the scope of the first cycle of each ET day', async () => {
      const days = new Map<string, string[]>();
      for (const cycle of feed.cycles) {
        const day = new Date(new Date(cycle).getTime() - 5 * 3600_000).toISOString().slice(0, 10);
        days.set(day, [...(days.get(day) ?? []), cycle]);
      }
      for (const cycles of days.values()) {
        for (const later of cycles.slice(1))
          expect({ later, buffer: await fixture.breaksOf(runs.get(later)!, ['settlement_buffer']) }).toEqual({ later, buffer: [] });
      }
      expect(feed.answer_key.breaks.filter((b) => b.check === 'settlement_buffer').length).toBeGreaterThan(0);
    });
  },
);
