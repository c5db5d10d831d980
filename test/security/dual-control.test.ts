import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Test } from 'supertest';
import { SteppedClock } from '../support/stepped-clock';
import { startWithdrawalWorld, USD, usdOf, type WithdrawalWorld } from '../withdrawals/withdrawal-world';

/**
 * Issue #13, part 2: no single person can move money or change who may. Each test is an attack made
 * with one person's credentials (and whatever those credentials let them obtain), and asserts the
 * numbers that matter: the simulator's POST counter, the policy version, roles and states.
 */
let w: WithdrawalWorld;
const clock = new SteppedClock();
beforeAll(async () => {
  w = await startWithdrawalWorld({ app: { clock } });
});
afterAll(async () => w?.close());

const bearer = (t: Test, token: string) => t.set('Authorization', `Bearer ${token}`);
const get = (path: string, token: string) => bearer(w.api.http().get(path), token);
const post = (path: string, token: string, body: unknown = {}) => bearer(w.api.http().post(path), token).send(body as object);
const patch = (path: string, token: string, body: unknown) => bearer(w.api.http().patch(path), token).send(body as object);
const put = (path: string, token: string, body: unknown) => bearer(w.api.http().put(path), token).send(body as object);
const redeem = (code: string, label = 'mine') => w.api.http().post('/invitations/redeem').send({ code, label });

let seq = 0;
const uniq = (label: string) => `${label}-${++seq}`;

async function policyVersion(): Promise<number> {
  return (await get('/withdrawal-policy', w.api.tokens.viewer)).body.version as number;
}

/** An admin invites a new person with unprivileged roles; the person redeems the code themselves. */
async function personArrives(roles: string[], admin = w.api.tokens.admin): Promise<{ id: string; token: string; name: string }> {
  const name = uniq('person');
  const created = await post('/users', admin, { name, roles });
  expect(created.status).toBe(201);
  const redeemed = await redeem(created.body.invitation.code);
  expect(redeemed.status).toBe(201);
  return { id: created.body.id, token: redeemed.body.token, name };
}

const POLICY_ONE_APPROVER_NO_CAP = {
  tiers: [{ min_amount_centicents: '0', approvals_required: 1, roles_required: [] }],
  expiry_seconds: 86400,
  reserve_floor_centicents: '0',
  cap_centicents: '900000000000000000',
};

describe("the issue's scenario: one admin alone", () => {
  it('cannot mint a token for another person, nor give anyone approver/admin, nor change the policy, nor get a wire sent', async () => {
    const admin = w.api.tokens.admin;
    const postsBefore = await w.postCount();
    const versionBefore = await policyVersion();

    // An operator: created at once, but the admin receives only an invitation, never a token.
    const operator = await post('/users', admin, { name: uniq('lone-operator'), roles: ['operator'] });
    expect({ status: operator.status, token: operator.body.token, code: typeof operator.body.invitation.code }).toEqual({
      status: 201,
      token: undefined,
      code: 'string',
    });
    // Minting a token for a person (that operator, an existing approver, oneself) is refused.
    for (const target of [operator.body.id, w.api.userIds.approver, w.api.userIds.admin]) {
      const minted = await post(`/users/${target}/tokens`, admin, { label: 'x' });
      expect({ status: minted.status, code: minted.body.code }).toEqual({ status: 403, code: 'TOKEN_FOR_ANOTHER_PERSON' });
    }
    // An approver+admin and an approver: proposals only; their invitations do not work before a second admin approves.
    const both = await post('/users', admin, { name: uniq('lone-approver-admin'), roles: ['approver', 'admin'] });
    const approver = await post('/users', admin, { name: uniq('lone-approver'), roles: ['approver'] });
    for (const created of [both, approver]) {
      expect({ status: created.status, id: created.body.id, proposals: created.body.proposals.length }).toEqual({
        status: 202,
        id: null,
        proposals: 1,
      });
      const early = await redeem(created.body.invitation.code);
      expect({ status: early.status, code: early.body.code }).toEqual({ status: 409, code: 'INVITATION_AWAITING_APPROVAL' });
      const selfApproved = await post(`/admin-proposals/${created.body.proposals[0].id}/approve`, admin);
      expect({ status: selfApproved.status, code: selfApproved.body.code }).toEqual({ status: 403, code: 'PROPOSAL_SELF_APPROVAL' });
    }
    // A service account with approver is refused; with operator it is a script the admin holds: it can request, never approve.
    const serviceApprover = await post('/users', admin, { name: uniq('svc'), roles: ['approver'], kind: 'service' });
    expect({ status: serviceApprover.status, code: serviceApprover.body.code }).toEqual({
      status: 422,
      code: 'SERVICE_ACCOUNT_PRIVILEGED',
    });
    const script = await post('/users', admin, { name: uniq('svc'), roles: ['operator'], kind: 'service' });
    const scriptToken = (await post(`/users/${script.body.id}/tokens`, admin, { label: 'script' })).body.token as string;
    const grantToScript = await patch(`/users/${script.body.id}`, admin, { roles: ['operator', 'approver'] });
    expect({ status: grantToScript.status, code: grantToScript.body.code }).toEqual({ status: 422, code: 'SERVICE_ACCOUNT_PRIVILEGED' });
    // The policy: one approver, no cap: a proposal, not in force; the proposer cannot approve it.
    const proposed = await put('/withdrawal-policy', admin, POLICY_ONE_APPROVER_NO_CAP);
    expect(proposed.status).toBe(202);
    expect((await post(`/admin-proposals/${proposed.body.id}/approve`, admin)).status).toBe(403);
    // $1,500,000.00 requested by the admin's own script, "approved" by whatever the admin holds.
    const request = await w.request('1500000.00', { token: scriptToken });
    expect(request.status).toBe(201);
    for (const token of [admin, scriptToken]) {
      const approved = await w.approve(request.body.id, token);
      expect(approved.status).toBe(403);
    }
    await w.executor().runOnce();
    expect((await w.get(request.body.id)).state).toBe('pending_approval');
    expect(await w.postCount()).toBe(postsBefore);
    expect(await policyVersion()).toBe(versionBefore);
    // Clean up what a second admin would refuse.
    await w.cancel(request.body.id, admin);
    for (const p of [proposed.body.id, both.body.proposals[0].id, approver.body.proposals[0].id])
      expect((await post(`/admin-proposals/${p}/reject`, admin, { reason: 'withdrawn' })).status).toBe(200);
  });
});

describe('invitations', () => {
  it('are one-time, stored hashed, say when and by whom they were issued, and tell a late redeemer it was used', async () => {
    const created = await post('/users', w.api.tokens.admin, { name: uniq('invitee'), roles: ['viewer'] });
    const code = created.body.invitation.code as string;
    const stored = (await w.api.db.dataSource.query('SELECT code_hash FROM user_invitation WHERE id = $1', [
      created.body.invitation.id,
    ])) as Array<{ code_hash: string }>;
    expect(stored[0].code_hash).toMatch(/^[0-9a-f]{64}$/);
    const leaked = (await w.api.db.dataSource.query(
      `SELECT count(*)::int AS n FROM user_invitation WHERE code_hash LIKE '%' || $1 || '%'`,
      [code.slice(4, 20)],
    )) as Array<{ n: number }>;
    expect(leaked[0].n).toBe(0);
    // Two concurrent redemptions: exactly one token.
    const answers = await Promise.all([redeem(code, 'a'), redeem(code, 'b')]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    const won = answers.find((a) => a.status === 201)!;
    expect(won.body.invitation).toMatchObject({ issued_at: created.body.invitation.issued_at, issued_by: 'test-admin' });
    expect(won.body.user).toMatchObject({ id: created.body.id, roles: ['viewer'] });
    const late = await redeem(code, 'c');
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({
      code: 'INVITATION_ALREADY_REDEEMED',
      details: { issued_at: created.body.invitation.issued_at, redeemed_at: expect.any(String) },
    });
    const tokens = (await w.api.db.dataSource.query('SELECT count(*)::int AS n FROM api_token WHERE user_id = $1', [
      created.body.id,
    ])) as Array<{ n: number }>;
    expect(tokens[0].n).toBe(1);
    // A re-invitation for someone who already made their credential is refused.
    const again = await post(`/users/${created.body.id}/invitations`, w.api.tokens.admin);
    expect({ status: again.status, code: again.body.code }).toEqual({ status: 409, code: 'PERSON_ALREADY_ARRIVED' });
    // An unknown code is an authentication failure (401).
    expect((await redeem(`ksi_${'A'.repeat(43)}`)).status).toBe(401);
  });
});

describe('tokens', () => {
  it('are made by their owner, listed by their owner only, revocable by their owner, and end at once when the user is disabled', async () => {
    const person = await personArrives(['operator']);
    const second = await post('/me/tokens', person.token, { label: 'script' });
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({ user_id: person.id, issued_by: 'self', token: expect.stringMatching(/^kso_/) });
    const mine = await get('/me/tokens', person.token);
    expect(mine.body.data.map((t: { id: string }) => t.id)).toContain(second.body.id);
    expect(mine.body.data.every((t: { user_id: string }) => t.user_id === person.id)).toBe(true);
    expect(JSON.stringify(mine.body)).not.toContain(second.body.token);
    // Somebody else's token: not theirs to revoke (404, nothing said about it).
    const foreign = await w.api.db.dataSource.query('SELECT id FROM api_token WHERE user_id = $1 LIMIT 1', [w.api.userIds.approver]);
    expect((await bearer(w.api.http().delete(`/tokens/${(foreign as Array<{ id: string }>)[0].id}`), person.token)).status).toBe(404);
    expect((await bearer(w.api.http().delete(`/tokens/${second.body.id}`), person.token)).status).toBe(200);
    expect((await get('/me', second.body.token)).status).toBe(401);
    expect((await get('/me', person.token)).status).toBe(200);
    // Disabled: every token stops at once; re-enabling is a proposal, and the old tokens stay revoked.
    const disabled = await patch(`/users/${person.id}`, w.api.tokens.admin, { disabled: true });
    expect(disabled.body.disabled_at).toEqual(expect.any(String));
    expect((await get('/me', person.token)).status).toBe(401);
    const enable = await patch(`/users/${person.id}`, w.api.tokens.admin, { disabled: false });
    expect(enable.body.proposals.map((p: { kind: string }) => p.kind)).toEqual(['user.enable']);
    expect(enable.body.disabled_at).toEqual(expect.any(String));
    const approved = await post(`/admin-proposals/${enable.body.proposals[0].id}/approve`, w.people.adminApprover);
    expect(approved.status).toBe(200);
    expect((await get('/me', person.token)).status).toBe(401);
  });
});

describe('proposals', () => {
  it('grant approver only when a second admin approves; removal is immediate; nobody approves their own grant; both steps are audited', async () => {
    const person = await personArrives(['operator']);
    const grant = await patch(`/users/${person.id}`, w.api.tokens.admin, { roles: ['operator', 'approver'] });
    expect(grant.status).toBe(200);
    expect(grant.body.roles).toEqual(['operator']);
    const proposalId = grant.body.proposals[0].id as string;
    expect(grant.body.proposals[0]).toMatchObject({ kind: 'user.grant_roles', grants: ['approver'], state: 'pending' });
    expect((await post(`/admin-proposals/${proposalId}/approve`, w.api.tokens.admin)).body.code).toBe('PROPOSAL_SELF_APPROVAL');
    expect((await post(`/admin-proposals/${proposalId}/approve`, w.api.tokens.approver)).status).toBe(403);
    // Two admins approve at the same time: it is applied once.
    const other = await personArrives(['viewer']);
    const otherAdminGrant = await patch(`/users/${other.id}`, w.api.tokens.admin, { roles: ['viewer', 'admin'] });
    expect((await post(`/admin-proposals/${otherAdminGrant.body.proposals[0].id}/approve`, w.people.adminApprover)).status).toBe(200);
    const both = await Promise.all([
      post(`/admin-proposals/${proposalId}/approve`, w.people.adminApprover),
      post(`/admin-proposals/${proposalId}/approve`, other.token),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    expect((await get('/me', person.token)).body.roles).toEqual(['operator', 'approver']);
    const audit = await get(`/audit?entity=admin_proposal&entity_id=${proposalId}`, w.api.tokens.viewer);
    expect(audit.body.data.map((a: { action: string }) => a.action).sort()).toEqual(['admin_proposal.approve', 'admin_proposal.open']);
    // Removing a role: at once, no proposal.
    const removed = await patch(`/users/${person.id}`, w.api.tokens.admin, { roles: ['operator'] });
    expect({ roles: removed.body.roles, proposals: removed.body.proposals }).toEqual({ roles: ['operator'], proposals: [] });
    // The admin made admin by a proposal cannot approve a grant to themselves.
    const selfGrant = await patch(`/users/${other.id}`, w.api.tokens.admin, { roles: ['viewer', 'admin', 'approver'] });
    const selfApproval = await post(`/admin-proposals/${selfGrant.body.proposals[0].id}/approve`, other.token);
    expect({ status: selfApproval.status, code: selfApproval.body.code }).toEqual({ status: 403, code: 'PROPOSAL_SELF_APPROVAL' });
    // The database itself refuses a decision recorded in the proposer's name.
    await expect(
      w.api.db.dataSource.query(`UPDATE admin_proposal SET decided_by = proposed_by WHERE id = $1`, [selfGrant.body.proposals[0].id]),
    ).rejects.toThrow(/admin_proposal_not_by_proposer/);
    // A proposer who is no longer an admin: the proposal dies with their rights.
    await patch(`/users/${other.id}`, w.api.tokens.admin, { roles: ['viewer'] });
    const orphan = await patch(`/users/${person.id}`, other.token, { roles: ['operator', 'approver'] });
    expect(orphan.status).toBe(403);
  });

  it('void a proposal whose proposer lost the admin role before the second admin approved', async () => {
    const proposer = await personArrives(['viewer']);
    const made = await patch(`/users/${proposer.id}`, w.api.tokens.admin, { roles: ['viewer', 'admin'] });
    await post(`/admin-proposals/${made.body.proposals[0].id}/approve`, w.people.adminApprover);
    const target = await personArrives(['operator']);
    const pending = await patch(`/users/${target.id}`, proposer.token, { roles: ['operator', 'approver'] });
    expect(pending.body.proposals).toHaveLength(1);
    await patch(`/users/${proposer.id}`, w.api.tokens.admin, { disabled: true });
    const late = await post(`/admin-proposals/${pending.body.proposals[0].id}/approve`, w.api.tokens.admin);
    expect({ status: late.status, code: late.body.code, state: late.body.details.state }).toEqual({
      status: 409,
      code: 'PROPOSAL_NOT_PENDING',
      state: 'void',
    });
    expect((await get('/me', target.token)).body.roles).toEqual(['operator']);
  });

  it('change the policy only when a second admin approves, and never over a version changed meanwhile', async () => {
    const before = await policyVersion();
    const first = await put('/withdrawal-policy', w.api.tokens.admin, { ...POLICY_ONE_APPROVER_NO_CAP, expiry_seconds: 7200 });
    const second = await put('/withdrawal-policy', w.api.tokens.admin, { ...POLICY_ONE_APPROVER_NO_CAP, expiry_seconds: 3600 });
    expect(await policyVersion()).toBe(before);
    expect((await post(`/admin-proposals/${first.body.id}/approve`, w.people.adminApprover)).status).toBe(200);
    expect(await policyVersion()).toBe(before + 1);
    const stale = await post(`/admin-proposals/${second.body.id}/approve`, w.people.adminApprover);
    expect({ status: stale.status, code: stale.body.code }).toEqual({ status: 409, code: 'POLICY_CHANGED_SINCE_PROPOSAL' });
    expect(await policyVersion()).toBe(before + 1);
    expect((await post(`/admin-proposals/${second.body.id}/reject`, w.api.tokens.admin, { reason: 'superseded' })).status).toBe(200);
    // Back to the default tiers for the tests below (two approvers from $100,000).
    const restore = await put('/withdrawal-policy', w.api.tokens.admin, {
      tiers: [
        { min_amount_centicents: '0', approvals_required: 1, roles_required: [] },
        { min_amount_centicents: '1000000000', approvals_required: 2, roles_required: [] },
      ],
      expiry_seconds: 86400,
      reserve_floor_centicents: '0',
      cap_centicents: '900000000000000000',
    });
    expect((await post(`/admin-proposals/${restore.body.id}/approve`, w.people.adminApprover)).status).toBe(200);
  });
});

describe('approvals of a withdrawal', () => {
  it('never count an approver granted the role by a proposal the requester made or approved', async () => {
    // A person who is operator and admin proposes a new approver; a second admin approves; the
    // proposer holds the invitation code (they were handed it to pass on) and redeems it themselves.
    const dual = await personArrives(['operator']);
    const adminGrant = await patch(`/users/${dual.id}`, w.api.tokens.admin, { roles: ['operator', 'admin'] });
    await post(`/admin-proposals/${adminGrant.body.proposals[0].id}/approve`, w.people.adminApprover);
    const puppet = await post('/users', dual.token, { name: uniq('puppet'), roles: ['approver'] });
    expect(puppet.status).toBe(202);
    expect((await post(`/admin-proposals/${puppet.body.proposals[0].id}/approve`, w.api.tokens.admin)).status).toBe(200);
    const puppetToken = (await redeem(puppet.body.invitation.code)).body.token as string;
    // And an approver whose grant the requester approved (proposed by someone else).
    const other = await personArrives(['viewer']);
    const otherGrant = await patch(`/users/${other.id}`, w.api.tokens.admin, { roles: ['viewer', 'approver'] });
    expect((await post(`/admin-proposals/${otherGrant.body.proposals[0].id}/approve`, dual.token)).status).toBe(200);

    const postsBefore = await w.postCount();
    const request = await w.request('50.00', { token: dual.token });
    expect(request.status).toBe(201);
    for (const token of [puppetToken, other.token]) {
      const approved = await w.approve(request.body.id, token);
      expect({ status: approved.status, code: approved.body.code }).toEqual({
        status: 403,
        code: 'WITHDRAWAL_APPROVER_GRANTED_BY_REQUESTER',
      });
    }
    await w.executor().runOnce();
    expect((await w.get(request.body.id)).state).toBe('pending_approval');
    expect(await w.postCount()).toBe(postsBefore);
    // An independent approver's approval counts.
    expect((await w.approve(request.body.id, w.api.tokens.approver)).body.state).toBe('approved');
    await w.cancel(request.body.id, dual.token);
  });

  it("never count an approver who was handed the requester's credential (invited them, or minted their script's token)", async () => {
    // One person holding approver and admin: invites an operator and redeems the code themselves,
    // makes an operator script and mints its token; requests as either, approves as themselves.
    const one = w.people.adminApprover;
    const puppet = await personArrives(['operator'], one);
    const script = await post('/users', one, { name: uniq('one-script'), roles: ['operator'], kind: 'service' });
    const scriptToken = (await post(`/users/${script.body.id}/tokens`, one, { label: 'script' })).body.token as string;
    const postsBefore = await w.postCount();
    for (const token of [puppet.token, scriptToken]) {
      const request = await w.request('30.00', { token });
      expect(request.status).toBe(201);
      const approved = await w.approve(request.body.id, one);
      expect({ status: approved.status, code: approved.body.code }).toEqual({
        status: 403,
        code: 'WITHDRAWAL_APPROVER_GRANTED_BY_REQUESTER',
      });
      await w.executor().runOnce();
      expect((await w.get(request.body.id)).state).toBe('pending_approval');
      await w.cancel(request.body.id, token);
    }
    expect(await w.postCount()).toBe(postsBefore);
  });

  it('come from distinct people: one approver with several tokens approving concurrently is counted once', async () => {
    const extra = (await post('/me/tokens', w.api.tokens.approver2, { label: 'second laptop' })).body.token as string;
    const request = await w.request(usdOf(150_000n * USD));
    const answers = await Promise.all([
      w.approve(request.body.id, w.api.tokens.approver2),
      w.approve(request.body.id, extra),
      w.approve(request.body.id, w.api.tokens.approver2),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.filter((a) => a.body.counted === true)).toHaveLength(1);
    expect((await w.get(request.body.id)).state).toBe('pending_approval');
    await w.cancel(request.body.id, w.api.tokens.operator);
  });

  it('may be revoked or turned into a rejection before execution, and a revoked approval sends nothing', async () => {
    const postsBefore = await w.postCount();
    const rejectAfterApprove = await w.approvedRequest(20n * USD);
    const rejected = await w.reject(rejectAfterApprove, w.api.tokens.approver, 'wrong account');
    expect({ status: rejected.status, state: rejected.body.state }).toEqual({ status: 200, state: 'rejected' });

    const revokeAfterApprove = await w.approvedRequest(21n * USD);
    const revoked = await post(`/withdrawals/${revokeAfterApprove}/revoke-approval`, w.api.tokens.approver, { reason: 'second thoughts' });
    expect({ status: revoked.status, state: revoked.body.state, approvals: revoked.body.approvals_so_far }).toEqual({
      status: 200,
      state: 'pending_approval',
      approvals: 0,
    });
    const twice = await post(`/withdrawals/${revokeAfterApprove}/revoke-approval`, w.api.tokens.approver);
    expect({ status: twice.status, code: twice.body.code }).toEqual({ status: 409, code: 'WITHDRAWAL_NOTHING_TO_REVOKE' });
    await w.executor().runOnce();
    expect((await w.get(revokeAfterApprove)).state).toBe('pending_approval');
    expect(await w.postCount()).toBe(postsBefore);
    const queue = await get('/withdrawals/queue', w.api.tokens.approver);
    expect(queue.body.data.map((r: { id: string }) => r.id)).toContain(revokeAfterApprove);
    // Approving again after a revocation counts again.
    expect((await w.approve(revokeAfterApprove, w.api.tokens.approver)).body.state).toBe('approved');
    const detail = await w.get(revokeAfterApprove);
    expect(detail.approvals.map((a: { decision: string }) => a.decision)).toEqual(['approve', 'revoke', 'approve']);
    await w.cancel(revokeAfterApprove, w.api.tokens.operator);
  });
});

describe('time limits (the product clock moves forward)', () => {
  it('invitations expire, proposals expire unapproved, tokens expire after API_TOKEN_TTL_DAYS', async () => {
    const created = await post('/users', w.api.tokens.admin, { name: uniq('slow'), roles: ['viewer'] });
    const person = await personArrives(['operator']);
    const grant = await patch(`/users/${person.id}`, w.api.tokens.admin, { roles: ['operator', 'approver'] });
    clock.jump(8 * 86_400_000);
    const expired = await redeem(created.body.invitation.code);
    expect({ status: expired.status, code: expired.body.code }).toEqual({ status: 409, code: 'INVITATION_EXPIRED' });
    // The invitee never arrived: a new invitation may be issued.
    const again = await post(`/users/${created.body.id}/invitations`, w.api.tokens.admin);
    expect((await redeem(again.body.code)).status).toBe(201);
    const late = await post(`/admin-proposals/${grant.body.proposals[0].id}/approve`, w.people.adminApprover);
    expect({ status: late.status, state: late.body.details?.state }).toEqual({ status: 409, state: 'void' });
    expect((await get('/me', person.token)).body.roles).toEqual(['operator']);
    const listed = await get('/me/tokens', person.token);
    const expiresAt = Date.parse(listed.body.data[0].expires_at) - Date.parse(listed.body.data[0].created_at);
    expect(expiresAt).toBe(90 * 86_400_000);
    clock.jump(83 * 86_400_000);
    expect((await get('/me', person.token)).status).toBe(401);
  });
});
