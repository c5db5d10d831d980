import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { putPolicy, startWithdrawalWorld, type WithdrawalWorld } from './withdrawal-world';

/** Issue 22: an approver's comment is kept and shown; headroom is a route every role reads, every term shown. */
let w: WithdrawalWorld;
beforeAll(async () => {
  w = await startWithdrawalWorld();
});
afterAll(async () => w?.close());

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const big = (x: string) => BigInt(x);

describe('approval comments', () => {
  it("keeps an approver's comment on the approval, in the approver queue and in the audit row", async () => {
    const created = await w.request('250000.00');
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const approved = await w.api
      .http()
      .post(`/withdrawals/${id}/approve`)
      .set(bearer(w.api.tokens.approver))
      .send({ comment: 'ok per treasury sweep plan' });
    expect(approved.status).toBe(200);
    expect(approved.body.state).toBe('pending_approval');

    const detail = await w.get(id);
    expect(detail.approvals).toEqual([
      expect.objectContaining({
        decision: 'approve',
        reason: 'ok per treasury sweep plan',
        approver: expect.objectContaining({ name: 'test-approver' }),
      }),
    ]);
    const queue = await w.api.http().get('/withdrawals/pending').set(bearer(w.api.tokens.approver2));
    const mine = queue.body.data.find((r: { id: string }) => r.id === id);
    expect(mine.approvals).toEqual([expect.objectContaining({ name: 'test-approver', comment: 'ok per treasury sweep plan' })]);
    const audit = await w.api.http().get(`/audit?entity=withdrawal&entity_id=${id}`).set(bearer(w.api.tokens.viewer));
    const row = audit.body.data.find((r: { action: string }) => r.action === 'withdrawal.approval');
    expect(row.details).toMatchObject({ comment: 'ok per treasury sweep plan', approver: 'test-approver' });

    // without a comment: null, not an empty string
    await w.api.http().post(`/withdrawals/${id}/approve`).set(bearer(w.api.tokens.approver2)).send({}).expect(200);
    const second = (await w.get(id)).approvals.find((a: { approver: { name: string } }) => a.approver.name === 'test-approver2');
    expect(second.reason).toBeNull();
    const tooLong = await w.api
      .http()
      .post(`/withdrawals/${id}/approve`)
      .set(bearer(w.people.approver3))
      .send({ comment: 'x'.repeat(501) });
    expect(tooLong.status).toBe(400);
  });
});

describe('GET /headroom', () => {
  it('answers every role with every term, the formula holding exactly, and pending-approval requests as a separate term that moves into not-yet-locked once approved', async () => {
    await putPolicy(w, {
      tiers: [
        { min_amount_centicents: '0', approvals_required: 1, roles_required: [] },
        { min_amount_centicents: '1000000000', approvals_required: 2, roles_required: [] },
      ],
      expiry_seconds: 86400,
      reserve_floor_centicents: '12345678',
      cap_centicents: '10000000000000',
    });
    const read = async (token: string) => {
      const res = await w.api.http().get('/headroom').set(bearer(token));
      expect({ status: res.status, body: res.status === 200 ? null : res.body }).toEqual({ status: 200, body: null });
      return res.body;
    };
    for (const role of ['viewer', 'operator', 'approver', 'admin'] as const) await read(w.api.tokens[role]);
    expect((await w.api.http().get('/headroom')).status).toBe(401);

    const before = await read(w.api.tokens.viewer);
    const f = before.figures;
    expect(f.reserve_floor_centicents).toBe('12345678');
    expect(big(f.reserve_centicents)).toBe(
      big(f.reserve_active_obligation_payable_centicents) + big(f.reserve_estimate_payable_centicents) + big(f.reserve_floor_centicents),
    );
    expect(big(before.headroom_centicents)).toBe(
      big(f.available_centicents) - big(f.not_yet_locked_withdrawals_centicents) - big(f.reserve_centicents),
    );
    expect(big(before.headroom_after_pending_approval_centicents)).toBe(
      big(before.headroom_centicents) - big(before.pending_approval.total_centicents),
    );
    expect(before.headroom_usd).toMatch(/^-?\$[\d,]+\.\d{4}$/);

    const created = await w.request('150000.00');
    expect(created.status).toBe(201);
    const waiting = await read(w.api.tokens.operator);
    expect(waiting.pending_approval.request_ids).toContain(created.body.id);
    expect(big(waiting.pending_approval.total_centicents) - big(before.pending_approval.total_centicents)).toBe(1_500_000_000n);
    expect(waiting.headroom_centicents).toBe(before.headroom_centicents);

    await w.approve(created.body.id, w.api.tokens.approver).expect(200);
    await w.approve(created.body.id, w.api.tokens.approver2).expect(200);
    expect((await w.get(created.body.id)).state).toBe('approved');
    const approved = await read(w.api.tokens.viewer);
    expect(approved.pending_approval.request_ids).not.toContain(created.body.id);
    expect(approved.figures.not_yet_locked_withdrawal_ids).toContain(created.body.id);
    expect(big(waiting.headroom_centicents) - big(approved.headroom_centicents)).toBe(1_500_000_000n);
  });
});
