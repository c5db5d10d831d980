import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { adjustment, buffer, margin, ReconWorld, reversal, trade } from './recon-world';

/*
 * One test per confirmed defect and weakness of issue #20, each on a world written by hand so that
 * the expected breaks can be read off the setup. Cycles are 17:00 ET (22:00Z in November, EST).
 */
const C1 = '2026-11-03T22:00:00Z';
const C2 = '2026-11-04T22:00:00Z';
const C3 = '2026-11-05T22:00:00Z';
/** An instant of an ET day given as UTC (EST = UTC-5). */
const et = (date: string, hhmm: string) => new Date(`${date}T${hhmm}:00-05:00`).toISOString();

describe('write-off co-sign', () => {
  let world: ReconWorld;
  let breakId: (key: string) => Promise<string>;
  beforeAll(async () => {
    world = await ReconWorld.start();
    await world.twoSubtraders(C1, [999n, 1_993n]);
    await world.run(C1);
    breakId = async (key) => (await world.sql<{ id: string }>(`SELECT id::text FROM recon_break WHERE break_key = $1`, [key]))[0].id;
  });
  afterAll(() => world.close());
  const http = () => world.api.http();

  it('voids a pending write-off when a later run finds other figures, so no co-sign can approve an amount nobody proposed', async () => {
    const id = await breakId(`settlement_details/${C1}/S1/M1`);
    const proposed = await http()
      .post(`/breaks/${id}/resolve`)
      .set('authorization', world.as('operator'))
      .send({ reason: 'write_off', difference_centicents: '1', note: 'rounding' });
    expect({
      status: proposed.status,
      state: proposed.body.status,
      amount: proposed.body.resolution?.write_off_difference_centicents,
    }).toEqual({ status: 200, state: 'pending_write_off', amount: '1' });
    await world.post([adjustment('adj/S1', C1, 'S1', [{ market: 'M1', pnl: -99_999n }])]);
    const run = await world.run(C1);
    const after = await http().get(`/breaks/${id}`).set('authorization', world.as('viewer'));
    expect({ status: after.body.status, difference: after.body.difference_centicents, resolution: after.body.resolution }).toEqual({
      status: 'open',
      difference: '100000',
      resolution: null,
    });
    const cosign = await http()
      .post(`/breaks/${id}/cosign`)
      .set('authorization', world.as('approver'))
      .send({ difference_centicents: '100000' });
    expect({ status: cosign.status, code: cosign.body.code }).toEqual({ status: 409, code: 'BREAK_TRANSITION_NOT_ALLOWED' });
    const [voided] = await world.sql<{
      action: string;
      actor: string;
      from_state: string;
      to_state: string;
      details: Record<string, unknown>;
    }>(
      `SELECT action, actor, from_state, to_state, details FROM audit_log WHERE entity_type = 'recon_break' AND entity_id = $1 AND action = 'break.write_off_voided'`,
      [id],
    );
    expect(voided).toMatchObject({
      actor: 'test',
      from_state: 'pending_write_off',
      to_state: 'open',
      details: {
        run_id: run.runId,
        proposed: { difference_centicents: '1', proposed_by: 'test-operator' },
        found: { difference_centicents: '100000' },
      },
    });
  });

  it('resolves a write-off only with a co-sign naming exactly the proposed amount', async () => {
    const id = await breakId(`settlement_details/${C1}/S2/M1`);
    const path = `/breaks/${id}`;
    expect((await http().post(`${path}/resolve`).set('authorization', world.as('operator')).send({ reason: 'write_off' })).status).toBe(
      400,
    );
    const stale = await http()
      .post(`${path}/resolve`)
      .set('authorization', world.as('operator'))
      .send({ reason: 'write_off', difference_centicents: '8' });
    expect({ status: stale.status, code: stale.body.code }).toEqual({ status: 409, code: 'BREAK_FIGURES_CHANGED' });
    expect(
      (
        await http()
          .post(`${path}/resolve`)
          .set('authorization', world.as('operator'))
          .send({ reason: 'write_off', difference_centicents: '7' })
      ).status,
    ).toBe(200);
    expect((await http().post(`${path}/cosign`).set('authorization', world.as('approver')).send({})).status).toBe(400);
    const other = await http().post(`${path}/cosign`).set('authorization', world.as('approver')).send({ difference_centicents: '70' });
    expect({ status: other.status, code: other.body.code }).toEqual({ status: 409, code: 'BREAK_FIGURES_CHANGED' });
    const signed = await http().post(`${path}/cosign`).set('authorization', world.as('approver')).send({ difference_centicents: '7' });
    expect({ status: signed.status, state: signed.body.status, resolution: signed.body.resolution }).toMatchObject({
      status: 200,
      state: 'resolved',
      resolution: { reason: 'write_off', resolved_by: 'test-operator', cosigned_by: 'test-approver', write_off_difference_centicents: '7' },
    });
  });
});

describe('the inputs fingerprint', () => {
  let world: ReconWorld;
  beforeAll(async () => {
    world = await ReconWorld.withCycles([C1, C2]);
  });
  afterAll(() => world.close());

  it("reruns a cycle when a buffer movement of another cycle's books lands on its day, and records other inputs", async () => {
    const before = await world.run(C2);
    expect(await world.reconciliation.runCycleIfStale(new Date(C2), 'Crypto', 'test')).toBeUndefined();
    // The payment of C1's books, booked the next morning (on C2's day) with C1 as its cycle.
    await world.post([buffer('buf-late', et('2026-11-04', '09:00'), 700n, { cycle: C1 })]);
    const rerun = await world.reconciliation.runCycleIfStale(new Date(C2), 'Crypto', 'test');
    expect(rerun).toBeDefined();
    expect(rerun!.inputsSha256).not.toBe(before.inputsSha256);
    expect(await world.brief(rerun!.runId)).toEqual([
      [`settlement_buffer/${C2}/running_balance`, 'balance_mismatch', '0', '700', '-700'],
      ['settlement_buffer/internal/buf-late', 'missing_klear', null, '700', '-700'],
    ]);
  });
});

describe("Klear's own cash figures", () => {
  let world: ReconWorld;
  beforeAll(async () => {
    // C1: a detail whose total (950) is not pnl - fees (900); the obligation amount agrees with 950.
    world = await ReconWorld.withObligation({
      cycle: C1,
      details: [{ subtrader: 'S1', market: 'M1', pnl: 1_000n, fees: 100n, total: 950n, id: 'sd-c1-1' }],
      margins: [{ subtrader: 'S1', requirement: 1_000n }],
    });
    // C2: requirement 1,000 -> 1,500 but Klear's delta says 900; the obligation amount agrees with 900.
    await world.obligation({
      cycle: C2,
      details: [{ subtrader: 'S1', market: 'M1', pnl: 200n }],
      margins: [{ subtrader: 'S1', requirement: 1_500n, delta: 900n }],
    });
    // C3: details and deltas consistent (300 - 0), but the obligation's amount is 370.
    await world.obligation({
      cycle: C3,
      details: [{ subtrader: 'S1', market: 'M1', pnl: 300n }],
      margins: [{ subtrader: 'S1', requirement: 1_500n, delta: 0n }],
      amount: 370n,
    });
    await world.post([
      trade('t/c1/S1', C1, 'S1', [{ market: 'M1', pnl: 1_000n, fees: 100n }]),
      margin('m/c1/S1', C1, 'S1', 1_000n),
      trade('t/c2/S1', C2, 'S1', [{ market: 'M1', pnl: 200n }]),
      margin('m/c2/S1', C2, 'S1', 1_500n),
      trade('t/c3/S1', C3, 'S1', [{ market: 'M1', pnl: 300n }]),
      margin('m/c3/S1', C3, 'S1', 1_500n),
    ]);
  });
  afterAll(() => world.close());

  it('reports a detail whose total is not its pnl minus its fees', async () => {
    expect(await world.runBrief(C1)).toEqual([[`klear_consistency/${C1}/detail_total/sd-c1-1`, 'klear_inconsistent', '950', '900', '50']]);
  });

  it("reports a subtrader's margin delta that is not its requirement minus the previous cycle's", async () => {
    expect(await world.runBrief(C2)).toEqual([[`klear_consistency/${C2}/margin_delta/S1`, 'klear_inconsistent', '900', '500', '400']]);
  });

  it("reports an obligation amount that is not the sum of its details' totals minus the sum of its margin deltas", async () => {
    expect(await world.runBrief(C3)).toEqual([[`klear_consistency/${C3}/amount`, 'klear_inconsistent', '370', '300', '70']]);
  });
});

describe('buffer movements reversed, netted and keyed by reference', () => {
  let world: ReconWorld;
  beforeAll(async () => {
    world = await ReconWorld.withCycles([C1]);
  });
  afterAll(() => world.close());

  it('nets an internal-only movement and its reversal to nothing, with or without a reference', async () => {
    const referenced = buffer('buf-A3-E1', et('2026-11-03', '10:00'), 700n, { reference: 'A3' });
    const bare = buffer('buf-B-1', et('2026-11-03', '11:00'), 500n);
    await world.post([
      referenced,
      reversal('buf-A3-E1-rev', referenced, et('2026-11-03', '10:30')),
      bare,
      reversal('buf-B-1-rev', bare, et('2026-11-03', '11:30')),
    ]);
    expect(await world.runBrief(C1)).toEqual([]);
  });

  it('keeps the key (and the break being worked) when another entry is booked under the same reference', async () => {
    await world.post([buffer('buf-A4-E1', et('2026-11-03', '12:00'), 300n, { reference: 'A4' })]);
    const first = await world.run(C1);
    const [found] = await world
      .breaks(first.runId, ['settlement_buffer'])
      .then((rows) => rows.filter((b) => b.break_key === 'settlement_buffer/A4'));
    expect(found).toMatchObject({ reason_code: 'missing_klear', internal_value_centicents: '300', difference_centicents: '-300' });
    await world.post([buffer('buf-A4-E2', et('2026-11-03', '13:00'), 200n, { reference: 'A4' })]);
    const second = await world.run(C1);
    expect(second).toMatchObject({ opened: 0, reopened: [], closed: [] });
    expect(await world.brief(second.runId)).toEqual([
      [`settlement_buffer/${C1}/running_balance`, 'balance_mismatch', '0', '500', '-500'],
      ['settlement_buffer/A4', 'missing_klear', null, '500', '-500'],
    ]);
    expect((await world.breaks(second.runId)).find((b) => b.break_key === 'settlement_buffer/A4')!.break_id).toBe(found.break_id);
  });
});

describe('buffer amount matching within a one-hour window', () => {
  let world: ReconWorld;
  beforeAll(async () => {
    world = await ReconWorld.withCycles([C1], { RECON_BUFFER_MATCH_WINDOW_HOURS: '1' });
  });
  afterAll(() => world.close());

  it('pairs the ledger movement with the Klear movement inside the window, not with the first of the same amount', async () => {
    await world.balance([
      { ref: 'K1', at: et('2026-11-03', '09:00'), delta: 100n },
      { ref: 'K2', at: et('2026-11-03', '15:00'), delta: 100n },
    ]);
    await world.post([buffer('buf-L1', et('2026-11-03', '15:05'), 100n, { reference: 'L1' })]);
    expect(await world.runBrief(C1)).toEqual([
      [`settlement_buffer/${C1}/running_balance`, 'balance_mismatch', '200', '100', '100'],
      ['settlement_buffer/K1', 'missing_internal', '100', null, '100'],
    ]);
  });
});

describe('buffer amount matching across midnight ET', () => {
  let world: ReconWorld;
  beforeAll(async () => {
    world = await ReconWorld.withCycles([C1, C2], { RECON_BUFFER_MATCH_WINDOW_HOURS: '48' });
  });
  afterAll(() => world.close());

  it('matches a Klear movement at 23:00 with the ledger movement booked at 01:00 the next day', async () => {
    await world.balance([{ ref: 'K9', at: et('2026-11-03', '23:00'), delta: 250n }]);
    await world.post([buffer('buf-L9', et('2026-11-04', '01:00'), 250n, { reference: 'L9' })]);
    const first = await world.run(C1);
    const second = await world.run(C2);
    expect({ c1: await world.brief(first.runId), c2: await world.brief(second.runId) }).toEqual({
      c1: [[`settlement_buffer/${C1}/running_balance`, 'balance_mismatch', '250', '0', '250']],
      c2: [],
    });
  });
});

describe('two cycles on one ET day', () => {
  const noon = '2026-11-03T17:00:00Z';
  let world: ReconWorld;
  beforeAll(async () => {
    world = await ReconWorld.withCycles([noon, C1]);
  });
  afterAll(() => world.close());

  it("reports each of the day's buffer breaks once, in the scope of the day's first cycle", async () => {
    await world.balance([{ ref: 'K5', at: et('2026-11-03', '14:00'), delta: 400n }]);
    const first = await world.run(noon);
    const second = await world.run(C1);
    expect({ noon: await world.brief(first.runId), evening: await world.brief(second.runId) }).toEqual({
      noon: [
        [`settlement_buffer/${noon}/running_balance`, 'balance_mismatch', '400', '0', '400'],
        ['settlement_buffer/K5', 'missing_internal', '400', null, '400'],
      ],
      evening: [],
    });
  });
});

describe('projected breaks', () => {
  let world: ReconWorld;
  beforeAll(async () => {
    world = await ReconWorld.withCycles([C1]);
    // The open cycle (C2) as the books have it: S2 is 5 short of what Klear projects.
    await world.post([
      trade('t/c2/S1', C2, 'S1', [{ market: 'M1', pnl: 1_000n, fees: 10n }]),
      trade('t/c2/S2', C2, 'S2', [{ market: 'M1', pnl: 2_000n, fees: 20n }]),
      trade('t/c2/S3', C2, 'S3', [{ market: 'M1', pnl: 500n }]),
    ]);
  });
  afterAll(() => world.close());

  const estimate = (pulledAt: string) =>
    world.estimate(pulledAt, { variationMargin: 3_505n, fees: 30n }, { S1: { variationMargin: 1_000n, fees: 10n } });

  it('checks the subtraders the estimate omits in aggregate, and keeps the key from one estimate pull to the next', async () => {
    await estimate(et('2026-11-04', '10:00'));
    const first = await world.runProjected();
    expect(await world.brief(first.runId)).toEqual([[`projected/${C1}/omitted`, 'projected_mismatch', '2485', '2480', '5']]);
    await estimate(et('2026-11-04', '10:05'));
    const second = await world.runProjected();
    expect(second).toMatchObject({ opened: 0, reopened: [], closed: [] });
    expect((await world.breaks(second.runId)).map((b) => b.break_id)).toEqual((await world.breaks(first.runId)).map((b) => b.break_id));
  });

  it("keys the projection by the estimate's next_runtime and counts only the ledger's cycles up to it", async () => {
    // A booking for the cycle after the projected one (C3) is not part of what Klear projects.
    await world.post([trade('t/c3/S3', C3, 'S3', [{ market: 'M1', pnl: 700n }])]);
    await world.estimate(
      et('2026-11-04', '10:10'),
      { variationMargin: 3_505n, fees: 30n },
      { S1: { variationMargin: 1_000n, fees: 10n } },
      C2,
    );
    const run = await world.runProjected();
    expect(await world.brief(run.runId)).toEqual([[`projected/${C2}/omitted`, 'projected_mismatch', '2485', '2480', '5']]);
    // The break keyed by the last settled cycle (estimates without next_runtime) is closed by this run.
    expect(run.closed).toHaveLength(1);
  });
});

describe('what a run records about the breaks it works', () => {
  let world: ReconWorld;
  beforeAll(async () => {
    world = await ReconWorld.withObligation({
      cycle: C1,
      details: [
        { subtrader: 'S1', market: 'M1', pnl: 500n },
        { subtrader: 'S2', market: 'M1', pnl: 800n },
      ],
      margins: [
        { subtrader: 'S1', requirement: 100n },
        { subtrader: 'S2', requirement: 0n },
        { subtrader: 'S9', requirement: 0n },
      ],
    });
    await world.post([
      trade('t/S1', C1, 'S1', [{ market: 'M1', pnl: 499n }]),
      trade('t/S2', C1, 'S2', [{ market: 'M1', pnl: 797n }]),
      margin('m/S1', C1, 'S1', 100n),
    ]);
  });
  afterAll(() => world.close());

  it('finds no break in a zero margin row of a subtrader the ledger never booked a margin for', async () => {
    expect(await world.runBrief(C1)).toEqual([
      [`settlement_details/${C1}/S1/M1`, 'amount_mismatch', '500', '499', '1'],
      [`settlement_details/${C1}/S2/M1`, 'amount_mismatch', '800', '797', '3'],
    ]);
  });

  it('names exactly the breaks a run closed', async () => {
    const [s2] = await world.sql<{ id: string }>(`SELECT id::text FROM recon_break WHERE break_key = $1`, [
      `settlement_details/${C1}/S2/M1`,
    ]);
    await world.post([adjustment('adj/S2', C1, 'S2', [{ market: 'M1', pnl: 3n }])]);
    const run = await world.run(C1);
    expect({ closed: run.closed, reopened: run.reopened, opened: run.opened }).toEqual({ closed: [s2.id], reopened: [], opened: 0 });
    const [audit] = await world.sql<{ details: { closed: string[] } }>(
      `SELECT details FROM audit_log WHERE action = 'reconciliation.run' AND entity_id = $1`,
      [run.runId],
    );
    expect(audit.details.closed).toEqual([s2.id]);
  });

  it('clears the resolution of a resolved break that a run reopens, and keeps it in the audit', async () => {
    const [s1] = await world.sql<{ id: string }>(`SELECT id::text FROM recon_break WHERE break_key = $1`, [
      `settlement_details/${C1}/S1/M1`,
    ]);
    const resolved = await world.api
      .http()
      .post(`/breaks/${s1.id}/resolve`)
      .set('authorization', world.as('operator'))
      .send({ reason: 'timing', note: 'books tomorrow' });
    expect(resolved.body.status).toBe('resolved');
    await world.post([adjustment('adj/S1', C1, 'S1', [{ market: 'M1', pnl: -1n }])]);
    const run = await world.run(C1);
    expect(run.reopened).toEqual([s1.id]);
    const after = await world.api.http().get(`/breaks/${s1.id}`).set('authorization', world.as('viewer'));
    expect({ status: after.body.status, difference: after.body.difference_centicents, resolution: after.body.resolution }).toEqual({
      status: 'open',
      difference: '2',
      resolution: null,
    });
    const [reopened] = await world.sql<{ from_state: string; to_state: string; details: Record<string, unknown> }>(
      `SELECT from_state, to_state, details FROM audit_log WHERE entity_id = $1 AND action = 'break.reopened'`,
      [s1.id],
    );
    expect(reopened).toMatchObject({
      from_state: 'resolved',
      to_state: 'open',
      details: {
        run_id: run.runId,
        previous: {
          resolution_reason: 'timing',
          resolution_note: 'books tomorrow',
          resolved_by: 'test-operator',
          difference_centicents: '1',
        },
      },
    });
  });
});

describe('break keys', () => {
  let world: ReconWorld;
  beforeAll(async () => {
    world = await ReconWorld.withObligation({
      cycle: C1,
      details: [
        { subtrader: 'A/B', market: 'C', pnl: 10n },
        { subtrader: 'A', market: 'B/C', pnl: 20n },
        { subtrader: '100%', market: 'M', pnl: 30n },
      ],
    });
  });
  afterAll(() => world.close());

  it("encode each part, so that subtrader A/B's market C and subtrader A's market B/C are two breaks", async () => {
    expect(await world.runBrief(C1)).toEqual([
      [`settlement_details/${C1}/100%25/M`, 'unknown_subtrader', '30', null, '30'],
      [`settlement_details/${C1}/A%2FB/C`, 'unknown_subtrader', '10', null, '10'],
      [`settlement_details/${C1}/A/B%2FC`, 'unknown_subtrader', '20', null, '20'],
    ]);
  });
});

describe('tolerances per row and per aggregate', () => {
  let world: ReconWorld;
  const markets = Array.from({ length: 40 }, (_, i) => `M${String(i + 1).padStart(2, '0')}`);
  beforeAll(async () => {
    world = await ReconWorld.start({ RECON_TOLERANCE_SETTLEMENT_DETAILS_CENTICENTS: '10' });
    // C1: S1 is 10 short on each of 40 markets; S2 is +10 on one market and -10 on another.
    await world.obligation({
      cycle: C1,
      details: [
        ...markets.map((market) => ({ subtrader: 'S1', market, pnl: 100n })),
        { subtrader: 'S2', market: 'M01', pnl: 100n },
        { subtrader: 'S2', market: 'M02', pnl: 100n },
      ],
    });
    // C2: three subtraders each 6 short on one market: each within the tolerance, the cycle not.
    await world.obligation({ cycle: C2, details: ['S3', 'S4', 'S5'].map((subtrader) => ({ subtrader, market: 'M01', pnl: 100n })) });
    await world.post([
      trade(
        't/c1/S1',
        C1,
        'S1',
        markets.map((market) => ({ market, pnl: 90n })),
      ),
      trade('t/c1/S2', C1, 'S2', [
        { market: 'M01', pnl: 90n },
        { market: 'M02', pnl: 110n },
      ]),
      ...['S3', 'S4', 'S5'].map((s) => trade(`t/c2/${s}`, C2, s, [{ market: 'M01', pnl: 94n }])),
    ]);
  });
  afterAll(() => world.close());

  it('reports every market of a subtrader whose tolerated differences add up beyond the tolerance, and reports what was tolerated', async () => {
    const run = await world.run(C1);
    const breaks = await world.breaks(run.runId);
    expect(breaks.map((b) => [b.subtrader_id, b.reason_code, b.difference_centicents])).toEqual(
      markets.map(() => ['S1', 'amount_mismatch', '10']),
    );
    const summary = (await world.queries.getRun(run.runId)).summary as {
      checks: Record<string, { tolerated: number; tolerated_difference: string }>;
    };
    expect(summary.checks.settlement_details).toMatchObject({ tolerated: 2, tolerated_difference: '0' });
    const rollup = await world.sql(
      `SELECT subtrader_id, break_count, tolerated_count, break_difference_centicents::text AS breaks, tolerated_difference_centicents::text AS tolerated
                                      FROM recon_subtrader_rollup WHERE run_id = $1 ORDER BY subtrader_id`,
      [run.runId],
    );
    expect(rollup).toEqual([
      { subtrader_id: 'S1', break_count: 40, tolerated_count: 0, breaks: '400', tolerated: '0' },
      { subtrader_id: 'S2', break_count: 0, tolerated_count: 2, breaks: '0', tolerated: '0' },
    ]);
  });

  it('reports every tolerated difference of a cycle whose tolerated differences add up beyond the tolerance', async () => {
    expect(await world.runBrief(C2)).toEqual(
      ['S3', 'S4', 'S5'].map((s) => [`settlement_details/${C2}/${s}/M01`, 'amount_mismatch', '100', '94', '6']),
    );
  });
});
