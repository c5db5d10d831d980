import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { enrol, nextTotpCode } from '../console/console-people-factory';
import { SteppedClock } from '../support/stepped-clock';
import { startWithdrawalWorld, type WithdrawalWorld } from './withdrawal-world';

// Step-up through the API, the way a script holding a person's bearer token would try it: a person
// with a second factor decides on money only with a fresh code bound to that decision, whatever the
// channel. (The console's dialogs are attacked in test/console/console-browser.test.ts.)
const clock = new SteppedClock();
let w: WithdrawalWorld;
let approver: { secret: string; lastStep: number };

beforeAll(async () => {
  w = await startWithdrawalWorld({ app: { clock } });
  approver = { secret: await enrol(w.api.app, w.api.userIds.approver), lastStep: 0 };
}, 120_000);
afterAll(async () => w?.close());

const decide = (action: 'approve' | 'reject', id: string, body: Record<string, unknown>) =>
  w.api.http().post(`/withdrawals/${id}/${action}`).set('Authorization', `Bearer ${w.api.tokens.approver}`).send(body);
const stepUps = async (id: string) =>
  (await w.api.http().get(`/withdrawals/${id}/step-ups`).set('Authorization', `Bearer ${w.api.tokens.viewer}`)).body.data as Array<
    Record<string, unknown>
  >;

describe('step-up for a person with a second factor, over an API token', () => {
  it('refuses an approval or a rejection without a fresh code (403 STEP_UP_REQUIRED) and records nothing', async () => {
    const { id } = (await w.request('1200.00')).body as { id: string };
    const approve = await decide('approve', id, {});
    expect([approve.status, approve.body.code]).toEqual([403, 'STEP_UP_REQUIRED']);
    const reject = await decide('reject', id, { reason: 'not without a second factor' });
    expect([reject.status, reject.body.code]).toEqual([403, 'STEP_UP_REQUIRED']);
    const after = await w.get(id);
    expect([after.state, after.approvals]).toEqual(['pending_approval', []]);
    expect(await stepUps(id)).toEqual([]);
  });

  it('refuses a wrong code, approves with a fresh one bound to the request, and never takes the same code twice', async () => {
    const first = (await w.request('1300.00')).body.id as string;
    const second = (await w.request('1400.00')).body.id as string;
    const wrong = await decide('approve', first, { step_up: { method: 'totp', code: '000000' } });
    expect([wrong.status, wrong.body.code]).toEqual([403, 'STEP_UP_REFUSED']);
    expect((await w.get(first)).approvals).toEqual([]);

    const code = nextTotpCode(clock, approver);
    const ok = await decide('approve', first, { step_up: { method: 'totp', code } });
    expect(ok.status).toBe(200);
    expect((await w.get(first)).state).toBe('approved');
    const [evidence] = await stepUps(first);
    expect([evidence.method, (evidence.binding as { amount_centicents: string }).amount_centicents]).toEqual(['totp', '13000000']);

    // The same code, a moment later, for another request: replayed, refused, nothing recorded.
    const replay = await decide('approve', second, { step_up: { method: 'totp', code } });
    expect([replay.status, replay.body.code]).toEqual([403, 'STEP_UP_REFUSED']);
    expect((await w.get(second)).approvals).toEqual([]);
    expect(await stepUps(second)).toEqual([]);
  });
});
