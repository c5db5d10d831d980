import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Test } from 'supertest';
import { startWithdrawalWorld, USD, type WithdrawalWorld } from './withdrawal-world';

/**
 * A request in outcome_unknown is settled by people after reading Klear's records, under dual control:
 * one approver or admin proposes, a different one confirms. Attack tests: one person doing both, the
 * requester, an id another request holds, concurrent confirmations.
 */
let w: WithdrawalWorld;
beforeAll(async () => {
  w = await startWithdrawalWorld();
});
afterAll(async () => w?.close());

const POST_PATH = '/margin/withdraw_settlement_balance';
const bearer = (t: Test, token: string) => t.set('Authorization', `Bearer ${token}`);
const propose = (id: string, token: string, body: Record<string, unknown>) =>
  bearer(w.api.http().post(`/withdrawals/${id}/resolutions`), token).send(body);
const confirm = (id: string, token: string) => bearer(w.api.http().post(`/withdrawals/${id}/resolutions/confirm`), token).send({});

let amountSeq = 0;
/** Approved requests whose POSTs Klear acted on but answered 503 (one executor run): outcome_unknown, Klear holds each withdrawal. */
async function unknownOutcomes(n: number): Promise<Array<{ id: string; klearId: string }>> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await w.approvedRequest((300n + BigInt(++amountSeq)) * USD));
  await w.simAdmin('PUT', '/faults', { rules: [{ kind: 'status', endpoint: POST_PATH, status: 503, phase: 'after', times: n }] });
  expect(await w.executor().runOnce()).toMatchObject({ outcomeUnknown: n });
  await w.simAdmin('PUT', '/faults', { rules: [] });
  const out: Array<{ id: string; klearId: string }> = [];
  for (const id of ids) {
    const detail = await w.get(id);
    expect(detail.state).toBe('outcome_unknown');
    const amount = BigInt(detail.amount_centicents);
    out.push({
      id,
      klearId: w
        .simWithdrawals()
        .filter((x) => x.amount === amount)
        .at(-1)!.id,
    });
  }
  return out;
}
const unknownOutcome = async () => (await unknownOutcomes(1))[0];

describe('manual resolution of an unknown outcome', () => {
  it('needs two different people: the proposer cannot confirm, the requester can do neither; both steps are in the history', async () => {
    const { id, klearId } = await unknownOutcome();
    const byRequester = await propose(id, w.api.tokens.operator, { conclusion: 'submitted', klear_withdrawal_id: klearId, reason: 'seen' });
    expect(byRequester.status).toBe(403);
    const missingId = await propose(id, w.api.tokens.approver, { conclusion: 'submitted', reason: 'seen' });
    expect(missingId.status).toBe(400);
    const proposed = await propose(id, w.api.tokens.approver, {
      conclusion: 'submitted',
      klear_withdrawal_id: klearId,
      reason: 'in Klear history as locked',
    });
    expect({ status: proposed.status, state: proposed.body.state }).toEqual({ status: 201, state: 'pending' });
    const second = await propose(id, w.api.tokens.approver2, { conclusion: 'not_submitted', reason: 'other view' });
    expect({ status: second.status, code: second.body.code }).toEqual({ status: 409, code: 'WITHDRAWAL_RESOLUTION_PENDING' });
    const self = await confirm(id, w.api.tokens.approver);
    expect({ status: self.status, code: self.body.code }).toEqual({ status: 403, code: 'WITHDRAWAL_RESOLUTION_FORBIDDEN' });
    expect((await w.get(id)).state).toBe('outcome_unknown');
    // The database refuses it too.
    await expect(
      w.api.db.dataSource.query(`UPDATE withdrawal_manual_resolution SET decided_by = proposed_by WHERE id = $1`, [proposed.body.id]),
    ).rejects.toThrow(/two_people/);
    // Two others confirm at once: it takes effect once.
    const answers = await Promise.all([confirm(id, w.api.tokens.approver2), confirm(id, w.people.adminApprover)]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const detail = await w.get(id);
    expect(detail).toMatchObject({ state: 'submitted', klear_withdrawal_id: klearId });
    expect(detail.history.map((h: { action?: string; to: string }) => h.to).slice(-1)).toEqual(['submitted']);
    const audit = await bearer(w.api.http().get(`/audit?entity=withdrawal&entity_id=${id}`), w.api.tokens.viewer);
    expect(audit.body.data.map((a: { action: string }) => a.action)).toEqual(expect.arrayContaining(['withdrawal.resolution_proposed']));
  });

  it('refuses a Klear id another request already holds, at proposal and at confirmation', async () => {
    const [first, second] = await unknownOutcomes(2);
    expect(
      (await propose(first.id, w.api.tokens.approver, { conclusion: 'submitted', klear_withdrawal_id: first.klearId, reason: 'seen' }))
        .status,
    ).toBe(201);
    // The same id proposed for the second request while the first is not yet confirmed...
    expect(
      (await propose(second.id, w.api.tokens.approver, { conclusion: 'submitted', klear_withdrawal_id: first.klearId, reason: 'typo' }))
        .status,
    ).toBe(201);
    expect((await confirm(first.id, w.api.tokens.approver2)).status).toBe(200);
    // ... is refused at its confirmation, and a new proposal with it is refused at once.
    const late = await confirm(second.id, w.api.tokens.approver2);
    expect({ status: late.status, code: late.body.code, held_by: late.body.details?.held_by }).toEqual({
      status: 409,
      code: 'KLEAR_ID_HELD',
      held_by: first.id,
    });
    expect(
      (await bearer(w.api.http().post(`/withdrawals/${second.id}/resolutions/reject`), w.api.tokens.approver).send({ reason: 'wrong id' }))
        .status,
    ).toBe(200);
    const again = await propose(second.id, w.api.tokens.approver, {
      conclusion: 'submitted',
      klear_withdrawal_id: first.klearId,
      reason: 'typo again',
    });
    expect({ status: again.status, code: again.body.code }).toEqual({ status: 409, code: 'KLEAR_ID_HELD' });
    // An id Klear's status endpoint does not know (a typo) is refused at confirmation.
    expect(
      (await propose(second.id, w.api.tokens.approver, { conclusion: 'submitted', klear_withdrawal_id: 'wd-no-such-id', reason: 'typo' }))
        .status,
    ).toBe(201);
    const unknown = await confirm(second.id, w.api.tokens.approver2);
    expect({ status: unknown.status, code: unknown.body.code }).toEqual({ status: 422, code: 'KLEAR_ID_NOT_CONFIRMED' });
    expect((await w.get(second.id)).state).toBe('outcome_unknown');
  });

  it("a proposal still waiting when Klear's records settle the request is void: no confirmation takes effect, the next proposal is not blocked", async () => {
    const { id, klearId } = await unknownOutcome();
    // A person proposes "never arrived" (wrongly: Klear holds it); before anyone confirms, the resolver finds it.
    const proposed = await propose(id, w.api.tokens.approver, { conclusion: 'not_submitted', reason: 'not seen yet' });
    expect(proposed.status).toBe(201);
    expect(await w.executor().runOnce()).toMatchObject({ resolved: { submitted: 1 } });
    expect(await w.get(id)).toMatchObject({ state: 'submitted', klear_withdrawal_id: klearId });
    const late = await confirm(id, w.api.tokens.approver2);
    expect({ status: late.status, code: late.body.code }).toEqual({ status: 409, code: 'WITHDRAWAL_NOT_OUTCOME_UNKNOWN' });
    const listed = await bearer(w.api.http().get(`/withdrawals/${id}/resolutions`), w.api.tokens.viewer);
    expect(listed.body.data).toEqual([
      expect.objectContaining({
        id: proposed.body.id,
        state: 'void',
        decided_by: 'withdrawal_executor',
        decision_reason: expect.stringContaining(klearId),
      }),
    ]);
    const audit = await bearer(w.api.http().get(`/audit?entity=withdrawal&entity_id=${id}`), w.api.tokens.viewer);
    expect(audit.body.data.map((a: { action: string }) => a.action)).toEqual(
      expect.arrayContaining(['withdrawal.resolution_proposed', 'withdrawal.resolution_void']),
    );
    // A later proposal on the request is not blocked by the void one.
    expect(await w.api.db.dataSource.query(`SELECT state FROM withdrawal_manual_resolution WHERE request_id = $1`, [id])).toEqual([
      { state: 'void' },
    ]);
  });

  it('"never arrived" opens a fresh approval round: only approvals then allow another POST', async () => {
    const { id } = await unknownOutcome();
    const postsBefore = await w.postCount();
    expect(
      (await propose(id, w.people.adminApprover, { conclusion: 'not_submitted', reason: 'absent from Klear history and status' })).status,
    ).toBe(201);
    const confirmed = await confirm(id, w.people.approver3);
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toMatchObject({ state: 'pending_approval', resolution: { state: 'confirmed', conclusion: 'not_submitted' } });
    await w.executor().runOnce();
    expect(await w.postCount()).toBe(postsBefore);
    expect((await w.approve(id, w.api.tokens.approver)).body.state).toBe('approved');
    await w.executor().runOnce();
    expect(await w.postCount()).toBe(postsBefore + 1);
  });
});
