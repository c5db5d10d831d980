import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Test } from 'supertest';
import { type ExecutorHooks, WithdrawalRepository } from '@app/withdrawals';
import { SteppedClock } from '../support/stepped-clock';
import { startWithdrawalWorld, USD, type WithdrawalWorld } from './withdrawal-world';

/*
 * Attack: another request comes to hold the same Klear withdrawal id between the "already held?" check
 * and the write. The check is skipped (as if the race were won at that instant), so the write meets the
 * unique index on withdrawal_request.klear_withdrawal_id; the repository turns that violation into
 * KlearIdTaken, and the workflow must end where the check would have sent it, with nothing half-written
 * and no second POST.
 */
const POST_PATH = '/margin/withdraw_settlement_balance';
const bearer = (t: Test, token: string) => t.set('Authorization', `Bearer ${token}`);

/** A cancelled request made to hold `klearId`, as a concurrent writer would have. */
async function bystanderHolding(w: WithdrawalWorld, klearId: string): Promise<string> {
  const bystander = (await w.request('12.00')).body.id as string;
  await w.cancel(bystander, w.api.tokens.operator);
  await w.api.db.dataSource.query('UPDATE withdrawal_request SET klear_withdrawal_id = $2 WHERE id = $1', [bystander, klearId]);
  return bystander;
}

describe('the executor recording Klear’s answer', () => {
  const clock = new SteppedClock();
  let w: WithdrawalWorld;
  beforeAll(async () => {
    w = await startWithdrawalWorld({
      env: { WITHDRAWAL_OUTCOME_GRACE_SECONDS: '40' },
      app: { clock, klearClient: { clock: clock.limiter } },
    });
  }, 180_000);
  afterAll(async () => w?.close());

  it('ends outcome_unknown with klear_id_conflict when the id is taken past the check, after exactly one POST', async () => {
    const id = await w.approvedRequest(5_000_777n);
    const postsBefore = await w.postCount();
    let skipCheck = false;
    const real = WithdrawalRepository.prototype.requestHoldingKlearId;
    const spy = jest.spyOn(WithdrawalRepository.prototype, 'requestHoldingKlearId').mockImplementation(async function (
      this: WithdrawalRepository,
      ...args
    ) {
      if (skipCheck) {
        skipCheck = false;
        return null;
      }
      return real.apply(this, args as never);
    });
    const hooks: ExecutorHooks = {
      at: async (reached, context) => {
        if (reached !== 'after_answer_recorded' || context.requestId !== id) return;
        const [answer] = (await w.api.db.dataSource.query('SELECT klear_withdrawal_id FROM withdrawal_klear_answer WHERE attempt_id = $1', [
          context.attemptId,
        ])) as Array<{ klear_withdrawal_id: string }>;
        await bystanderHolding(w, answer.klear_withdrawal_id);
        skipCheck = true;
      },
    };
    try {
      expect(await w.executor().runOnce({ hooks })).toMatchObject({ outcomeUnknown: 1, submitted: 0 });
    } finally {
      spy.mockRestore();
    }
    const detail = await w.get(id);
    expect(detail).toMatchObject({ state: 'outcome_unknown', klear_withdrawal_id: null, attention: { reason: 'klear_id_conflict' } });
    expect(detail.history.map((h: { to: string }) => h.to)).toEqual(['pending_approval', 'approved', 'submitting', 'outcome_unknown']);
    expect((await w.postCount()) - postsBefore).toBe(1);
  }, 180_000);
});

describe('a manual confirmation naming a Klear id', () => {
  let w: WithdrawalWorld;
  beforeAll(async () => {
    w = await startWithdrawalWorld();
  }, 180_000);
  afterAll(async () => w?.close());

  it('answers 409 KLEAR_ID_HELD when the id is taken past the check; request and attempt stay outcome_unknown', async () => {
    const id = await w.approvedRequest(777n * USD);
    await w.simAdmin('PUT', '/faults', { rules: [{ kind: 'status', endpoint: POST_PATH, status: 503, phase: 'after', times: 1 }] });
    expect(await w.executor().runOnce()).toMatchObject({ outcomeUnknown: 1 });
    await w.simAdmin('PUT', '/faults', { rules: [] });
    const klearId = w
      .simWithdrawals()
      .filter((x) => x.amount === 777n * USD)
      .at(-1)!.id;
    const proposed = await bearer(w.api.http().post(`/withdrawals/${id}/resolutions`), w.api.tokens.approver).send({
      conclusion: 'submitted',
      klear_withdrawal_id: klearId,
      reason: 'seen in Klear’s withdrawal list',
    });
    expect(proposed.status).toBe(201);
    await bystanderHolding(w, klearId);
    const spy = jest.spyOn(WithdrawalRepository.prototype, 'requestHoldingKlearId').mockResolvedValue(null);
    let answer;
    try {
      answer = await bearer(w.api.http().post(`/withdrawals/${id}/resolutions/confirm`), w.api.tokens.approver2).send({});
    } finally {
      spy.mockRestore();
    }
    expect({ status: answer.status, code: answer.body.code }).toEqual({ status: 409, code: 'KLEAR_ID_HELD' });
    expect((await w.get(id)).state).toBe('outcome_unknown');
    const attempts = (await w.api.db.dataSource.query(`SELECT state, klear_withdrawal_id FROM withdrawal_attempt WHERE request_id = $1`, [
      id,
    ])) as Array<{ state: string; klear_withdrawal_id: string | null }>;
    expect(attempts).toEqual([{ state: 'outcome_unknown', klear_withdrawal_id: null }]);
  }, 180_000);
});
