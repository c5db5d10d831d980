import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { putPolicy, startWithdrawalWorld, type WithdrawalWorld } from './withdrawal-world';

let w: WithdrawalWorld;
let tokens: WithdrawalWorld['api']['tokens'];
beforeAll(async () => {
  w = await startWithdrawalWorld();
  tokens = w.api.tokens;
});
afterAll(async () => w?.close());

async function pending(amount: string, token?: string): Promise<string> {
  const res = await w.request(amount, { token });
  expect({ status: res.status, body: res.body }).toMatchObject({ status: 201, body: { state: 'pending_approval' } });
  return res.body.id as string;
}

async function approvalRows(id: string): Promise<number> {
  const rows = (await w.api.db.dataSource.query('SELECT count(*)::int AS n FROM withdrawal_approval WHERE request_id = $1', [
    id,
  ])) as Array<{ n: number }>;
  return rows[0].n;
}

describe('the default policy, tier by tier', () => {
  it('is seeded at first read: 1 approver below $100,000, 2 from $100,000, 2 including an admin from $1,000,000, 24 h expiry', async () => {
    const res = await w.api.http().get('/withdrawal-policy').set('Authorization', `Bearer ${tokens.viewer}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      version: 1,
      expiry_seconds: 86400,
      reserve_floor_centicents: '0',
      cap_centicents: '10000000000000',
      tiers: [
        { min_amount_centicents: '0', approvals_required: 1, roles_required: [] },
        { min_amount_centicents: '1000000000', approvals_required: 2, roles_required: [] },
        { min_amount_centicents: '10000000000', approvals_required: 2, roles_required: ['admin'] },
      ],
    });
  });

  it('approves $99,999.99 with one approver', async () => {
    const id = await pending('99999.99');
    const res = await w.approve(id, tokens.approver);
    expect(res.body).toMatchObject({ state: 'approved', approvals_required: 1, counted: true, approvals_so_far: 1 });
  });

  it('needs two distinct approvers from exactly $100,000.00', async () => {
    const id = await pending('100000.00');
    const first = await w.approve(id, tokens.approver);
    expect(first.body).toMatchObject({ state: 'pending_approval', approvals_required: 2, approvals_so_far: 1 });
    const second = await w.approve(id, tokens.approver2);
    expect(second.body).toMatchObject({ state: 'approved', approvals_so_far: 2 });
  });

  it('from $1,000,000 two approvers are not enough until one of them is an admin', async () => {
    const id = await pending('1000000.00');
    await w.approve(id, tokens.approver);
    const two = await w.approve(id, tokens.approver2);
    expect(two.body).toMatchObject({ state: 'pending_approval', approvals_so_far: 2, roles_missing: ['admin'], roles_required: ['admin'] });
    const admin = await w.approve(id, w.people.adminApprover);
    expect(admin.body).toMatchObject({ state: 'approved', approvals_so_far: 3, roles_missing: [] });
  });

  it('an admin approver counts as one of the two at the top tier', async () => {
    const id = await pending('2500000.00');
    await w.approve(id, w.people.adminApprover);
    expect((await w.approve(id, tokens.approver)).body.state).toBe('approved');
  });
});

describe('who may decide', () => {
  it('never lets the requester approve or reject their own request (403), even holding the approver role', async () => {
    const both = await w.api.newUser('operator-and-approver', ['operator', 'approver']);
    const id = await pending('500.00', both.token);
    const approve = await w.approve(id, both.token);
    expect({ status: approve.status, code: approve.body.code }).toEqual({ status: 403, code: 'WITHDRAWAL_SELF_APPROVAL' });
    const reject = await w.reject(id, both.token);
    expect({ status: reject.status, code: reject.body.code }).toEqual({ status: 403, code: 'WITHDRAWAL_SELF_APPROVAL' });
    expect(await approvalRows(id)).toBe(0);
    expect((await w.get(id)).state).toBe('pending_approval');
  });

  it('counts a second approval by the same person once: 200, unchanged request, one row', async () => {
    const id = await pending('150000.00');
    const first = await w.approve(id, tokens.approver);
    const again = await w.approve(id, tokens.approver);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ state: 'pending_approval', counted: false, approvals_so_far: 1, version: first.body.version });
    expect(await approvalRows(id)).toBe(1);
  });

  it('ends the request on any rejection; later decisions are refused with 409', async () => {
    const id = await pending('150000.00');
    await w.approve(id, tokens.approver);
    const noReason = await w.reject(id, tokens.approver2, '');
    expect(noReason.status).toBe(400);
    const rejected = await w.reject(id, tokens.approver2, 'counterparty not verified');
    expect(rejected.body.state).toBe('rejected');
    const late = await w.approve(id, w.people.approver3);
    expect({ status: late.status, code: late.body.code }).toEqual({ status: 409, code: 'WITHDRAWAL_NOT_PENDING' });
    const detail = await w.get(id);
    expect(detail.history.map((h: { to: string }) => h.to)).toEqual(['pending_approval', 'rejected']);
    expect(detail.history[1]).toMatchObject({
      from: 'pending_approval',
      actor: expect.stringContaining('test-approver2'),
      reason: 'counterparty not verified',
    });
    expect(detail.approvals.map((a: { decision: string }) => a.decision)).toEqual(['approve', 'reject']);
  });

  it('lets the requester or an admin cancel before submission, nobody else', async () => {
    const id = await pending('700.00');
    const stranger = await w.cancel(id, w.people.operator2);
    expect({ status: stranger.status, code: stranger.body.code }).toEqual({ status: 403, code: 'WITHDRAWAL_CANCEL_FORBIDDEN' });
    expect((await w.cancel(id, tokens.operator)).body.state).toBe('cancelled');
    const twice = await w.cancel(id, tokens.operator);
    expect({ status: twice.status, code: twice.body.code }).toEqual({ status: 409, code: 'WITHDRAWAL_TRANSITION_NOT_ALLOWED' });
    const other = await pending('800.00');
    await w.approve(other, tokens.approver);
    expect((await w.cancel(other, tokens.admin)).body.state).toBe('cancelled');
  });
});

describe('expiry', () => {
  it('expires at decision time: the late approval is refused and the request is expired', async () => {
    const id = await pending('150000.00');
    await w.approve(id, tokens.approver);
    // Time passes: the deadline is moved into the past rather than waiting a day.
    await w.api.db.dataSource.query(`UPDATE withdrawal_request SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
    const late = await w.approve(id, tokens.approver2);
    expect({ status: late.status, code: late.body.code }).toEqual({ status: 409, code: 'WITHDRAWAL_EXPIRED' });
    const detail = await w.get(id);
    expect(detail.state).toBe('expired');
    expect(detail.approvals).toHaveLength(1);
  });

  it('expires pending and approved requests from the expiry job, and leaves the others alone', async () => {
    const pendingId = await pending('300.00');
    const approvedId = await pending('400.00');
    await w.approve(approvedId, tokens.approver);
    const fresh = await pending('500.00');
    await w.api.db.dataSource.query(`UPDATE withdrawal_request SET expires_at = now() - interval '1 second' WHERE id = ANY($1::uuid[])`, [
      [pendingId, approvedId],
    ]);
    expect(await w.expiry().expireDue()).toBe(2);
    expect((await w.get(pendingId)).state).toBe('expired');
    expect((await w.get(approvedId)).history.at(-1)).toMatchObject({ from: 'approved', to: 'expired', actor: 'withdrawal_expiry' });
    expect((await w.get(fresh)).state).toBe('pending_approval');
    expect(await w.expiry().expireDue()).toBe(0);
  });
});

describe('policy changes', () => {
  it('refuse non-admins and incoherent policies, and version every accepted change in the audit log', async () => {
    const asOperator = await w.api.http().put('/withdrawal-policy').set('Authorization', `Bearer ${tokens.operator}`).send({});
    expect(asOperator.status).toBe(403);
    const bad = await w.api
      .http()
      .put('/withdrawal-policy')
      .set('Authorization', `Bearer ${tokens.admin}`)
      .send({
        tiers: [{ min_amount_centicents: '100', approvals_required: 1, roles_required: [] }],
        expiry_seconds: 3600,
        reserve_floor_centicents: '0',
        cap_centicents: '1000',
      });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('first tier must start at 0');
    const audit = await w.api.http().get('/audit?entity=withdrawal_policy').set('Authorization', `Bearer ${tokens.viewer}`);
    expect(audit.body.data.map((a: { to: string }) => a.to)).toEqual(['v1']);
  });

  it('do not touch pending requests: they keep the policy they were made under', async () => {
    const before = await pending('150000.00');
    await putPolicy(w, {
      tiers: [{ min_amount_centicents: '0', approvals_required: 1, roles_required: [] }],
      expiry_seconds: 3600,
      reserve_floor_centicents: '0',
      cap_centicents: '10000000000000',
    });
    const after = await pending('150000.00');
    const approvedBefore = await w.approve(before, tokens.approver);
    expect(approvedBefore.body).toMatchObject({ state: 'pending_approval', policy_version: 1, approvals_required: 2 });
    const approvedAfter = await w.approve(after, tokens.approver);
    expect(approvedAfter.body).toMatchObject({ state: 'approved', policy_version: 2, approvals_required: 1 });
    const audit = await w.api.http().get('/audit?entity=withdrawal_policy&order=asc').set('Authorization', `Bearer ${tokens.viewer}`);
    expect(audit.body.data.map((a: { to: string; actor: string }) => `${a.to}:${a.actor}`)).toEqual([
      'v1:system',
      expect.stringMatching(/^v2:test-admin\+admin-approver-\d+$/),
    ]);
  });
});

describe('the approval queue', () => {
  it('shows what waits for the caller, oldest first, without their own decisions, with approvals so far and the headroom', async () => {
    await putPolicy(w, {
      tiers: [{ min_amount_centicents: '0', approvals_required: 2, roles_required: [] }],
      expiry_seconds: 3600,
      reserve_floor_centicents: '0',
      cap_centicents: '10000000000000',
    });
    const older = await pending('120000.00');
    const newer = await pending('130000.00');
    await w.approve(older, tokens.approver2);
    const res = await w.api.http().get('/withdrawals/queue').set('Authorization', `Bearer ${tokens.approver}`);
    expect(res.status).toBe(200);
    const ids = res.body.data.map((r: { id: string }) => r.id);
    expect(ids.indexOf(older)).toBeLessThan(ids.indexOf(newer));
    expect(ids.indexOf(older)).toBeGreaterThanOrEqual(0);
    expect(res.body.data.find((r: { id: string }) => r.id === older)).toMatchObject({
      approvals_so_far: 1,
      amount_centicents: '1200000000',
      requester: { name: 'test-operator' },
    });
    expect(res.body.headroom.headroom_centicents).toMatch(/^-?[0-9]+$/);
    const forApprover2 = await w.api.http().get('/withdrawals/queue').set('Authorization', `Bearer ${tokens.approver2}`);
    expect(forApprover2.body.data.map((r: { id: string }) => r.id)).not.toContain(older);
    expect(forApprover2.body.data.map((r: { id: string }) => r.id)).toContain(newer);
  });

  it('lists requests newest first in pages, filtered by state', async () => {
    const get = (q: string) => w.api.http().get(`/withdrawals${q}`).set('Authorization', `Bearer ${tokens.viewer}`);
    const all = (await get('?limit=500')).body.data.map((r: { id: string }) => r.id);
    const first = await get('?limit=3');
    const second = await get(`?limit=3&cursor=${first.body.next_cursor}`);
    expect([...first.body.data, ...second.body.data].map((r: { id: string }) => r.id)).toEqual(all.slice(0, 6));
    const rejected = await get('?state=rejected');
    expect(rejected.body.data.length).toBeGreaterThan(0);
    expect(rejected.body.data.every((r: { state: string }) => r.state === 'rejected')).toBe(true);
    expect((await get('?state=bogus')).status).toBe(400);
  });

  it('keeps the audit chain intact after all of the above', async () => {
    const res = await w.api.http().get('/audit?entity=withdrawal&limit=500').set('Authorization', `Bearer ${tokens.viewer}`);
    expect(res.body.chain).toMatchObject({ ok: true, problem: null });
    expect(res.body.data.length).toBeGreaterThan(30);
  });
});
