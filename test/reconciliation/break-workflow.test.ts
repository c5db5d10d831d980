import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SimulatedReconWorld, type LedgerFeed } from './simulated-recon-world';

describe('working breaks through the API', () => {
  let fixture: SimulatedReconWorld;
  let feed: LedgerFeed;
  let cycle: string;
  let runId: string;
  const as = (role: 'operator' | 'approver' | 'viewer' | 'approver2') => `Bearer ${fixture.api.tokens[role]}`;
  const http = () => fixture.api.http();

  beforeAll(async () => {
    fixture = await SimulatedReconWorld.start({ seed: 31, subtraders: 6, markets: 4, days: 1 });
    await fixture.ingestKlear();
    feed = await fixture.feed({
      discrepancies: [{ kind: 'pnl_off_by_one' }, { kind: 'missing_fee' }, { kind: 'wrong_margin' }, { kind: 'extra_market_row' }],
    });
    cycle = feed.answer_key.discrepancies[0].cycle;
    await fixture.postLedger(feed.entries);
    const res = await http().post('/reconciliations').set('authorization', as('operator')).send({ cycle });
    expect(res.status).toBe(201);
    runId = res.body.id;
  });
  afterAll(() => fixture.close());

  const breakByKey = async (key: string) => {
    const res = await http().get(`/reconciliations/${runId}/breaks?limit=500`).set('authorization', as('viewer'));
    return res.body.data.find((b: { key: string }) => b.key === key);
  };
  const keyOf = (kind: string) => {
    const d = feed.answer_key.discrepancies.find((x) => x.kind === kind)!;
    return kind === 'wrong_margin'
      ? `maintenance_margin/${d.cycle}/${d.subtrader_id}`
      : `settlement_details/${d.cycle}/${d.subtrader_id}/${d.market_ticker}`;
  };

  it('stores the run with its inputs and answers its breaks per subtrader with money as decimal strings and the rows behind each side', async () => {
    const run = await http().get(`/reconciliations/${runId}`).set('authorization', as('viewer'));
    expect(run.body).toMatchObject({
      status: 'succeeded',
      scope: 'cycle',
      break_count: feed.answer_key.breaks.filter((b) => b.cycle === cycle).length,
    });
    expect(run.body.inputs).toMatchObject({ cycle, ledger_seq: expect.stringMatching(/^\d+$/), tolerances: { settlement_details: '0' } });
    const d = feed.answer_key.discrepancies.find((x) => x.kind === 'pnl_off_by_one')!;
    const res = await http()
      .get(`/reconciliations/${runId}/breaks?subtrader=${d.subtrader_id}&check=settlement_details`)
      .set('authorization', as('viewer'));
    expect({ status: res.status, body: res.status === 200 ? null : res.body }).toEqual({ status: 200, body: null });
    const offByOne = res.body.data.find((b: { key: string }) => b.key === keyOf('pnl_off_by_one'));
    expect(offByOne).toMatchObject({
      reason_code: 'amount_mismatch',
      difference_centicents: '-1',
      pnl_difference_centicents: '-1',
      fees_difference_centicents: '0',
      status: 'open',
    });
    expect(offByOne.klear_rows).toHaveLength(1);
    expect(offByOne.internal_rows).toEqual([`trade/${d.cycle}/${d.subtrader_id}`]);
    expect(res.body.data.every((b: { subtrader_id: string }) => b.subtrader_id === d.subtrader_id)).toBe(true);
  });

  it('acknowledges, comments and assigns a break, refuses illegal transitions with 409, and audits each change', async () => {
    const target = await breakByKey(keyOf('missing_fee'));
    const path = `/breaks/${target.break_id}`;
    expect((await http().post(`${path}/acknowledge`).set('authorization', as('operator')).send({})).body.status).toBe('acknowledged');
    const again = await http().post(`${path}/acknowledge`).set('authorization', as('operator')).send({});
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('BREAK_TRANSITION_NOT_ALLOWED');
    await http().post(`${path}/comments`).set('authorization', as('operator')).send({ body: 'fee missing on the desk side' }).expect(201);
    const assigned = await http().post(`${path}/assign`).set('authorization', as('operator')).send({ assignee: 'test-approver' });
    expect(assigned.body).toMatchObject({
      assignee: 'test-approver',
      comments: [{ body: 'fee missing on the desk side', author: 'test-operator' }],
    });
    expect((await http().post(`${path}/acknowledge`).set('authorization', as('viewer')).send({})).status).toBe(403);
    const audit = (await fixture.api.db.dataSource.query(
      `SELECT action, from_state, to_state FROM audit_log WHERE entity_type = 'recon_break' AND entity_id = $1 ORDER BY seq`,
      [target.break_id],
    )) as unknown[];
    expect(audit).toEqual([
      { action: 'break.acknowledge', from_state: 'open', to_state: 'acknowledged' },
      { action: 'break.comment', from_state: 'acknowledged', to_state: 'acknowledged' },
      { action: 'break.assign', from_state: 'acknowledged', to_state: 'acknowledged' },
    ]);
  });

  it('requires a ticket for a Klear error and an existing ledger entry for an adjustment', async () => {
    const target = await breakByKey(keyOf('wrong_margin'));
    const path = `/breaks/${target.break_id}/resolve`;
    expect((await http().post(path).set('authorization', as('operator')).send({ reason: 'klear_error' })).status).toBe(400);
    const unknown = await http()
      .post(path)
      .set('authorization', as('operator'))
      .send({ reason: 'adjustment_booked', reference: 'adj/none' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.code).toBe('UNKNOWN_LEDGER_ENTRY');
    const resolved = await http().post(path).set('authorization', as('operator')).send({ reason: 'klear_error', reference: 'KLEAR-1234' });
    expect(resolved.body).toMatchObject({
      status: 'resolved',
      resolution: { reason: 'klear_error', reference: 'KLEAR-1234', resolved_by: 'test-operator' },
    });
    expect((await http().post(path).set('authorization', as('operator')).send({ reason: 'timing' })).status).toBe(409);
  });

  it('puts a write-off in pending_write_off until an approver other than the proposer co-signs it', async () => {
    const dual = await fixture.api.newUser('dual-role', ['operator', 'approver']);
    const target = await breakByKey(keyOf('extra_market_row'));
    const path = `/breaks/${target.break_id}`;
    const amount = { difference_centicents: target.difference_centicents };
    const proposed = await http()
      .post(`${path}/resolve`)
      .set('authorization', `Bearer ${dual.token}`)
      .send({ reason: 'write_off', note: 'immaterial', ...amount });
    expect(proposed.body).toMatchObject({
      status: 'pending_write_off',
      resolution: { reason: 'write_off', cosigned_by: null, write_off_difference_centicents: target.difference_centicents },
    });
    const self = await http().post(`${path}/cosign`).set('authorization', `Bearer ${dual.token}`).send(amount);
    expect(self.status).toBe(403);
    expect(self.body.code).toBe('COSIGN_BY_PROPOSER');
    expect((await http().post(`${path}/cosign`).set('authorization', as('operator')).send(amount)).status).toBe(403);
    const cosigned = await http().post(`${path}/cosign`).set('authorization', as('approver')).send(amount);
    expect(cosigned.body).toMatchObject({
      status: 'resolved',
      resolution: { reason: 'write_off', resolved_by: 'dual-role', cosigned_by: 'test-approver' },
    });
  });

  it('closes the break on the next run once an adjustment is booked, naming that run, and leaves the others as they were', async () => {
    const d = feed.answer_key.discrepancies.find((x) => x.kind === 'pnl_off_by_one')!;
    const target = await breakByKey(keyOf('pnl_off_by_one'));
    const adjustment = {
      external_id: `adj/${d.cycle}/${d.subtrader_id}/${d.market_ticker}`,
      entry_type: 'adjustment',
      effective_at: d.cycle,
      cycle: d.cycle,
      subtrader_id: d.subtrader_id,
      description: 'pnl booked one centicent too high',
      postings: [
        { account: 'trading_pnl', market_ticker: d.market_ticker, amount_centicents: '-1' },
        { account: 'klear_settlement', amount_centicents: '1' },
      ],
    };
    await fixture.postLedger([adjustment]);
    const resolved = await http()
      .post(`/breaks/${target.break_id}/resolve`)
      .set('authorization', as('operator'))
      .send({ reason: 'adjustment_booked', reference: adjustment.external_id });
    expect(resolved.body.status).toBe('resolved');
    const next = await http().post('/reconciliations').set('authorization', as('operator')).send({ cycle });
    const after = await http().get(`/breaks/${target.break_id}`).set('authorization', as('viewer'));
    expect(after.body).toMatchObject({
      status: 'closed',
      closed_by_run: next.body.id,
      resolution: { reason: 'adjustment_booked', reference: adjustment.external_id },
    });
    expect(next.body.break_count).toBe(
      (await http().get(`/reconciliations/${runId}`).set('authorization', as('viewer'))).body.break_count - 1,
    );
    const comparison = await http().get(`/reconciliations/${next.body.id}/compare/${runId}`).set('authorization', as('viewer'));
    expect(comparison.body).toMatchObject({ same_inputs: false, only_in_run: [], changed: [] });
    expect(comparison.body.only_in_other.map((b: { key: string }) => b.key)).toEqual([keyOf('pnl_off_by_one')]);
    const open = await http().get(`/breaks?status=closed`).set('authorization', as('viewer'));
    expect(open.body.data.map((b: { id: string }) => b.id)).toEqual([target.break_id]);
  });

  it('lists runs without their inputs, and with them exactly as the run answers them on ?include=inputs', async () => {
    const one = await http().get(`/reconciliations/${runId}`).set('authorization', as('viewer'));
    const listed = await http().get('/reconciliations?limit=500').set('authorization', as('viewer'));
    const lean = listed.body.data.find((r: { id: string }) => r.id === runId);
    expect(lean).not.toHaveProperty('inputs');
    const { inputs, ...rest } = one.body;
    expect(lean).toEqual(rest);
    const full = await http().get('/reconciliations?limit=500&include=inputs').set('authorization', as('viewer'));
    expect(full.body.data.find((r: { id: string }) => r.id === runId)).toEqual({ ...rest, inputs });
    expect(inputs).toMatchObject({ cycle, ledger_seq: expect.stringMatching(/^\d+$/) });
    const bad = await http().get('/reconciliations?include=everything').set('authorization', as('viewer'));
    expect(bad.status).toBe(400);
  });

  it('refuses a run request naming no target or a cycle that was never ingested', async () => {
    expect((await http().post('/reconciliations').set('authorization', as('operator')).send({})).status).toBe(400);
    const missing = await http().post('/reconciliations').set('authorization', as('operator')).send({ cycle: '2001-01-01T00:00:00Z' });
    expect(missing.status).toBe(422);
    expect(missing.body.code).toBe('CYCLE_NOT_INGESTED');
    expect((await http().get('/reconciliations/abc').set('authorization', as('viewer'))).status).toBe(404);
  });

  it('projects breaks from the latest estimate: subtraders the ledger has not booked yet, then none once booked', async () => {
    await fixture.ingestEstimate();
    const first = await http().post('/reconciliations').set('authorization', as('operator')).send({ projected: true });
    expect(first.status).toBe(201);
    const lines = (await fixture.api.db.dataSource.query(
      `SELECT key, variation_margin_centicents::text AS vm, total_fees_centicents::text AS fees FROM klear_estimate_line
        WHERE scope = 'subtrader' AND asset_class = '' ORDER BY key`,
    )) as Array<{ key: string; vm: string; fees: string }>;
    expect(lines.length).toBeGreaterThan(0);
    const projected = await http().get(`/reconciliations/${first.body.id}/breaks?check=projected`).set('authorization', as('viewer'));
    expect(projected.body.data.map((b: { subtrader_id: string; reason_code: string }) => [b.subtrader_id, b.reason_code])).toEqual(
      lines.map((l) => [l.key, 'missing_internal']),
    );

    const state = await fixture.sim.admin('GET', '/state');
    const openCycle: string = state.open_cycle;
    const booked = lines.slice(0, 2).map((l) => ({
      external_id: `trade/${openCycle}/${l.key}`,
      entry_type: 'trade_settlement',
      effective_at: openCycle,
      cycle: openCycle,
      subtrader_id: l.key,
      description: 'intraday booking',
      postings: [
        { account: 'trading_pnl', market_ticker: 'EST-ALL', amount_centicents: l.vm },
        { account: 'trading_fees', market_ticker: 'EST-ALL', amount_centicents: (-BigInt(l.fees)).toString() },
        { account: 'klear_settlement', amount_centicents: (BigInt(l.fees) - BigInt(l.vm)).toString() },
      ],
    }));
    await fixture.postLedger(booked);
    const second = await http().post('/reconciliations').set('authorization', as('operator')).send({ projected: true });
    const remaining = await http().get(`/reconciliations/${second.body.id}/breaks?check=projected`).set('authorization', as('viewer'));
    expect(remaining.body.data.map((b: { subtrader_id: string }) => b.subtrader_id)).toEqual(lines.slice(2).map((l) => l.key));
  });
});
