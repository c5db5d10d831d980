import { describe, expect, it } from '@jest/globals';
import { settlementDay } from './settlement-day';
import {
  breaksBehind,
  builtRelativeToDay,
  countBreaks,
  nextWorkbookNote,
  obligationBridge,
  runNote,
  subtraderStatus,
  unexplainedNote,
} from './workbook-day';
import { type BreakRow, type CycleRow, type RunRow, type SubtraderRow, zeroComparison } from './workbook-rows';

const C1 = new Date('2026-03-16T21:00:00Z');
const C2 = new Date('2026-03-16T23:00:00Z');

function brk(over: Partial<BreakRow>): BreakRow {
  return {
    breakId: '1',
    key: 'k',
    check: 'settlement_details',
    reasonCode: 'amount_mismatch',
    cycle: C1,
    subtraderId: 'ST-1',
    marketTicker: 'M',
    reference: null,
    klearCenticents: 0n,
    internalCenticents: 0n,
    differenceCenticents: 0n,
    pnlDifferenceCenticents: 0n,
    feesDifferenceCenticents: 0n,
    status: 'open',
    listing: 'found',
    foundByRun: '9',
    firstSeenAt: C1,
    closedAt: null,
    closedBy: null,
    assignee: null,
    lastComment: null,
    resolution: null,
    ...over,
  };
}

const run = (over: Partial<RunRow> = {}): RunRow => ({
  runId: '12',
  cycle: C1,
  ledgerHighWaterMark: '340',
  finishedAt: new Date('2026-03-16T21:30:00Z'),
  tolerances: {},
  tolerated: [],
  laterLedgerEntries: 0,
  klearChangedSince: false,
  ...over,
});

describe("the day's breaks as the sheets count them", () => {
  it('count found breaks before those closed on the day, by check then status, with the sum of their differences', () => {
    const counts = countBreaks([
      brk({ check: 'settlement_details', status: 'open', differenceCenticents: 5n }),
      brk({ check: 'maintenance_margin', status: 'closed', listing: 'closed on the day', differenceCenticents: 7n }),
      brk({ check: 'settlement_details', status: 'open', differenceCenticents: -2n }),
      brk({ check: 'maintenance_margin', status: 'acknowledged', differenceCenticents: 1n }),
    ]);
    expect(counts.map((c) => [c.listing, c.check, c.status, c.count, c.differenceCenticents])).toEqual([
      ['found', 'maintenance_margin', 'acknowledged', 1, 1n],
      ['found', 'settlement_details', 'open', 2, 3n],
      ['closed on the day', 'maintenance_margin', 'closed', 1, 7n],
    ]);
  });

  it('explain a figure only with the found breaks of its check and cycle, counting for pnl and fees only those that move them', () => {
    const breaks = [
      brk({ differenceCenticents: 1n, pnlDifferenceCenticents: 1n, feesDifferenceCenticents: 0n }),
      brk({ differenceCenticents: -30n, pnlDifferenceCenticents: 0n, feesDifferenceCenticents: 30n }),
      brk({ cycle: C2, differenceCenticents: 4n, pnlDifferenceCenticents: 4n, feesDifferenceCenticents: 0n }),
      brk({ check: 'maintenance_margin', differenceCenticents: -10_000n, pnlDifferenceCenticents: null, feesDifferenceCenticents: null }),
      brk({ listing: 'closed on the day', differenceCenticents: 1_000n, pnlDifferenceCenticents: 1_000n }),
    ];
    expect(breaksBehind(breaks, 'pnl', C1)).toEqual({ differenceCenticents: 1n, count: 1 });
    expect(breaksBehind(breaks, 'fees', C1)).toEqual({ differenceCenticents: 30n, count: 1 });
    expect(breaksBehind(breaks, 'total', C1)).toEqual({ differenceCenticents: -29n, count: 2 });
    expect(breaksBehind(breaks, 'total', null)).toEqual({ differenceCenticents: -25n, count: 3 });
    expect(breaksBehind(breaks, 'maintenance margin', null)).toEqual({ differenceCenticents: -10_000n, count: 1 });
  });

  it('give a subtrader the status its breaks and differences call for', () => {
    const row = (over: Partial<SubtraderRow>): SubtraderRow => ({
      subtraderId: 'ST-1',
      knownToKlear: true,
      knownToLedger: true,
      ...zeroComparison(),
      breakCount: 0,
      openBreakCount: 0,
      resolvedBreakCount: 0,
      ...over,
    });
    expect(subtraderStatus(row({}))).toBe('ok');
    expect(subtraderStatus(row({ klearTotal: 1n, breakCount: 1, openBreakCount: 1 }))).toBe('open breaks');
    expect(subtraderStatus(row({ klearTotal: 1n, breakCount: 1, resolvedBreakCount: 1 }))).toBe('resolved');
    expect(subtraderStatus(row({ klearMaintenanceMargin: 3n }))).toBe('difference, no break');
  });
});

describe("the Summary's explanations", () => {
  it('rebuild the obligation amount from the settlement total and the margin delta (an increase is paid)', () => {
    const cycle: CycleRow = {
      obligationId: 'o',
      executionTime: C1,
      amountCenticents: -2_166_323n,
      pnlCenticents: 0n,
      feesCenticents: 0n,
      maintenanceMarginCenticents: 0n,
      lastUpdatedTs: C1,
      detailsTotalCenticents: -2_317_158n,
      detailsPnlLessFeesCenticents: -2_317_158n,
      marginDeltaCenticents: -150_835n,
    };
    const terms = obligationBridge(cycle);
    expect(terms.map((t) => t.amountCenticents)).toEqual([-2_317_158n, 150_835n]);
    expect(terms.reduce((s, t) => s + t.amountCenticents, 0n)).toBe(cycle.amountCenticents);
    // A detail reporting a total other than its pnl - fees: the bridge shows Klear's own gap as a line.
    const inconsistent = obligationBridge({ ...cycle, detailsTotalCenticents: -2_317_108n, amountCenticents: -2_166_273n });
    expect(inconsistent.map((t) => [t.label, t.amountCenticents])).toEqual([
      ['settlement total (details: pnl - fees)', -2_317_158n],
      ["details' own totals beyond pnl - fees", 50n],
      ['maintenance margin delta (paid when it rises)', 150_835n],
    ]);
    expect(inconsistent.reduce((s, t) => s + t.amountCenticents, 0n)).toBe(-2_166_273n);
  });

  it('say when the workbook was built relative to its day, counting ET calendar days across a DST change', () => {
    const day = settlementDay('2026-03-07');
    expect(builtRelativeToDay(day, new Date('2026-03-07T23:00:00Z'))).toMatch(
      /^on the day, before it ended: statuses are those at 2026-03-07 18:00:00 ET;/,
    );
    expect(builtRelativeToDay(day, new Date('2026-03-08T05:00:00Z'))).toMatch(/^after the day, 1 day later: /);
    expect(builtRelativeToDay(day, new Date('2026-03-09T04:30:00Z'))).toMatch(/^after the day, 2 days later: /);
  });

  it('name the run, what was booked after it, and whether Klear changed since', () => {
    expect(runNote(run(), 3)).toBe("run 12, finished 2026-03-16 17:30:00 ET (on the cycle's day), ledger up to entry 340, 3 breaks found");
    expect(runNote(run({ laterLedgerEntries: 1, klearChangedSince: true, finishedAt: new Date('2026-03-18T13:00:00Z') }), 1)).toBe(
      "run 12, finished 2026-03-18 09:00:00 ET (2 days after the cycle's day), ledger up to entry 340, 1 break found; 1 ledger entry of this cycle booked after the run is not in these figures; Klear changed the obligation after this run: reconcile the cycle again",
    );
    expect(runNote(undefined, 0)).toMatch(/^not reconciled: /);
  });

  it('say why a difference is left unexplained: tolerance, a stale run, or no run', () => {
    expect(unexplainedNote(run(), 'settlement_details', 0n)).toBeNull();
    expect(unexplainedNote(run({ tolerances: { settlement_details: '5' } }), 'settlement_details', 3n)).toBe(
      '3 centicents within the settlement_details tolerance (5 centicents) of run 12',
    );
    expect(unexplainedNote(run({ klearChangedSince: true }), 'maintenance_margin', 3n)).toBe(
      'Klear changed the obligation after run 12: reconcile again',
    );
    expect(unexplainedNote(undefined, 'settlement_details', 3n)).toBe('not reconciled: no break explains this difference yet');
  });

  it('say when the next workbook is due from what is known of the next day', () => {
    const next = { date: '2026-03-17', cycles: [], reconciledCycles: 0, latestWorkbook: null, previousCycle: C1 };
    expect(nextWorkbookNote(next)).toBe(
      '2026-03-17: due by the daily_workbook job as soon as its cycle (expected 17:00 ET, the time of the last cycle) is ingested and reconciled',
    );
    const cycle = new Date('2026-03-17T21:00:00Z');
    expect(nextWorkbookNote({ ...next, cycles: [cycle] })).toBe(
      '2026-03-17: due by the daily_workbook job as soon as its cycle (17:00 ET) is reconciled',
    );
    expect(nextWorkbookNote({ ...next, cycles: [cycle, new Date('2026-03-18T00:00:00Z')], reconciledCycles: 1 })).toBe(
      '2026-03-17: due by the daily_workbook job as soon as its cycles (17:00, 20:00 ET) are reconciled',
    );
    expect(nextWorkbookNote({ ...next, cycles: [cycle], reconciledCycles: 1 })).toBe(
      '2026-03-17: due now, its cycle (17:00 ET) is reconciled; built by the daily_workbook job as soon as it runs next',
    );
    expect(nextWorkbookNote({ ...next, latestWorkbook: { version: 2, createdAt: new Date('2026-03-18T14:00:00Z') } })).toBe(
      '2026-03-17: already built (version 2, 2026-03-18 10:00:00 ET)',
    );
  });
});
