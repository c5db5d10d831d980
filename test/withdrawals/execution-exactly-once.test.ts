import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WithdrawalRepository } from '@app/withdrawals';
import { SteppedClock } from '../support/stepped-clock';
import { startWithdrawalWorld, type WithdrawalWorld } from './withdrawal-world';

const POST_PATH = '/margin/withdraw_settlement_balance';

/**
 * The grace period is long (nothing on a busy machine outlives it by accident) and passed by jumping
 * the product's clock, never waited for.
 */
const GRACE_SECONDS = 600;
const clock = new SteppedClock();
let w: WithdrawalWorld;
beforeAll(async () => {
  w = await startWithdrawalWorld({
    env: { WITHDRAWAL_OUTCOME_GRACE_SECONDS: String(GRACE_SECONDS) },
    app: { clock, klearClient: { clock: clock.limiter } },
  });
}, 120_000);
afterAll(async () => w?.close());

/** HTTP requests to the POST endpoint that reached the simulator (answered or not). */
const postsReceived = async () => Number((await w.simAdmin('GET', '/counters')).requests_by_endpoint[POST_PATH] ?? 0);

async function approvedRequest(amount: string): Promise<string> {
  const res = await w.request(amount);
  expect(res.status).toBe(201);
  const id = res.body.id as string;
  await w.approve(id, w.api.tokens.approver);
  if ((await w.get(id)).state !== 'approved') await w.approve(id, w.people.adminApprover);
  expect((await w.get(id)).state).toBe('approved');
  return id;
}

async function faults(rules: unknown[]) {
  await w.simAdmin('PUT', '/faults', { rules });
}

describe('submission', () => {
  it('submits an approved request once, records the Klear id, and follows it to processed', async () => {
    const id = await approvedRequest('1000.00');
    const postsBefore = await w.postCount();
    const summary = await w.executor().runOnce();
    expect(summary).toMatchObject({ ran: true, submitted: 1 });
    const detail = await w.get(id);
    const atKlear = w.simWithdrawals().find((x) => x.id === detail.klear_withdrawal_id);
    expect(atKlear).toEqual({ id: detail.klear_withdrawal_id, amount: 10_000_000n });
    expect(await w.postCount()).toBe(postsBefore + 1);
    expect(detail.attempts).toEqual([
      expect.objectContaining({ attempt_no: 1, state: 'submitted', klear_withdrawal_id: detail.klear_withdrawal_id }),
    ]);
    const [registered] = (await w.api.db.dataSource.query('SELECT amount_centicents::text AS amount FROM klear_withdrawal WHERE id = $1', [
      detail.klear_withdrawal_id,
    ])) as Array<{ amount: string }>;
    expect(registered.amount).toBe('10000000');
    const cancel = await w.cancel(id, w.api.tokens.operator);
    expect({ status: cancel.status, code: cancel.body.code }).toEqual({ status: 409, code: 'WITHDRAWAL_TRANSITION_NOT_ALLOWED' });

    await w.simAdmin('POST', '/clock/advance', { seconds: 60 });
    await w.tracking().pollOnce();
    expect((await w.get(id)).state).toBe('processing');
    await w.simAdmin('POST', '/clock/advance', { seconds: 300 });
    await w.tracking().pollOnce();
    const done = await w.get(id);
    expect(done.state).toBe('processed');
    // Written out, not imported: a change of the state machine must fail here.
    expect(done.history.map((h: { to: string }) => h.to)).toEqual([
      'pending_approval',
      'approved',
      'submitting',
      'submitted',
      'processing',
      'processed',
    ]);
  });

  it('gives exactly one POST for 50 concurrent approvals racing 3 executors, over 5 runs', async () => {
    const approvers = [w.api.tokens.approver, w.api.tokens.approver2, w.people.approver3, w.people.adminApprover];
    for (let run = 0; run < 5; run++) {
      const res = await w.request('150000.00');
      const id = res.body.id as string;
      const postsBefore = await postsReceived();
      const simBefore = w.simWithdrawals().length;
      const approvals = Promise.all(Array.from({ length: 50 }, (_, i) => w.approve(id, approvers[i % approvers.length])));
      const executors = Promise.all(
        [0, 1, 2].map(async () => {
          for (let i = 0; i < 4; i++) await w.executor().runOnce();
        }),
      );
      const answers = await approvals;
      await executors;
      await Promise.all([0, 1, 2].map(() => w.executor().runOnce()));
      // Approvers who had not approved yet get 409 once the request has moved on; nobody gets a 5xx.
      expect(answers.every((a) => a.status === 200 || (a.status === 409 && a.body.code === 'WITHDRAWAL_NOT_PENDING'))).toBe(true);
      const counted = answers.filter((a) => a.body.counted === true).length;
      const rows = (await w.api.db.dataSource.query('SELECT count(*)::int AS n FROM withdrawal_approval WHERE request_id = $1', [
        id,
      ])) as Array<{ n: number }>;
      expect(rows[0].n).toBe(counted);
      expect(counted >= 2 && counted <= approvers.length).toBe(true);
      const detail = await w.get(id);
      expect({ run, state: detail.state, attempts: detail.attempts.length }).toEqual({ run, state: 'submitted', attempts: 1 });
      expect(await postsReceived()).toBe(postsBefore + 1);
      expect(w.simWithdrawals().length).toBe(simBefore + 1);
      expect(w.simWithdrawals().at(-1)).toEqual({ id: detail.klear_withdrawal_id, amount: 1_500_000_000n });
    }
  }, 600_000); // a deadline that only catches a hang: at load 25 plus two busy loops this took over 60 s
});

describe('unknown outcomes are resolved from Klear records, never by sending again', () => {
  it('a 503 after Klear created the withdrawal resolves to submitted with the id found in balance history', async () => {
    const id = await approvedRequest('2000.00');
    await faults([{ kind: 'status', endpoint: POST_PATH, status: 503, phase: 'after', times: 1 }]);
    const postsBefore = await postsReceived();
    expect(await w.executor().runOnce()).toMatchObject({ outcomeUnknown: 1 });
    expect((await w.get(id)).state).toBe('outcome_unknown');
    await faults([]);
    expect(await w.executor().runOnce()).toMatchObject({ resolved: { submitted: 1, not_submitted: 0, still_unknown: 0 } });
    const detail = await w.get(id);
    const created = w.simWithdrawals().at(-1)!;
    expect(detail).toMatchObject({ state: 'submitted', klear_withdrawal_id: created.id });
    expect(created.amount).toBe(20_000_000n);
    expect(detail.attempts[0]).toMatchObject({
      state: 'submitted',
      klear_withdrawal_id: created.id,
      resolution: { conclusion: 'submitted', business_transaction_id: created.id, history_complete: true },
    });
    expect(await postsReceived()).toBe(postsBefore + 1);
  });

  it('a timeout after Klear created the withdrawal resolves the same way', async () => {
    const id = await approvedRequest('3000.00');
    await faults([{ kind: 'timeout', endpoint: POST_PATH, phase: 'after', times: 1 }]);
    const postsBefore = await postsReceived();
    await w.executor().runOnce();
    expect((await w.get(id)).attempts[0].error).toContain('outcome unknown');
    await faults([]);
    await w.executor().runOnce();
    expect(await w.get(id)).toMatchObject({ state: 'submitted', klear_withdrawal_id: w.simWithdrawals().at(-1)!.id });
    expect(await postsReceived()).toBe(postsBefore + 1);
  });

  it('a 503 before Klear acted waits out the grace period, then needs a fresh approval round before one more POST', async () => {
    const id = await approvedRequest('4000.00');
    await faults([{ kind: 'status', endpoint: POST_PATH, status: 503, phase: 'before', times: 1 }]);
    const simBefore = w.simWithdrawals().length;
    await w.executor().runOnce();
    await faults([]);
    expect(await w.executor().runOnce()).toMatchObject({ resolved: { still_unknown: 1 }, submitted: 0 });
    expect((await w.get(id)).state).toBe('outcome_unknown');
    clock.jump((GRACE_SECONDS + 1) * 1000);
    expect(await w.executor().runOnce()).toMatchObject({ resolved: { not_submitted: 1 }, submitted: 0 });
    const back = await w.get(id);
    expect(back).toMatchObject({ state: 'pending_approval', approval_round: 2, klear_withdrawal_id: null });
    expect(back.history.slice(-3).map((h: { to: string }) => h.to)).toEqual(['outcome_unknown', 'not_submitted', 'pending_approval']);
    expect(w.simWithdrawals().length).toBe(simBefore);
    // The old round's approval no longer counts: the executor sends nothing until someone approves again.
    expect(await w.executor().runOnce()).toMatchObject({ submitted: 0 });
    const queue = await w.api.http().get('/withdrawals/queue').set('Authorization', `Bearer ${w.api.tokens.approver}`);
    expect(queue.body.data.map((r: { id: string }) => r.id)).toContain(id);
    await w.approve(id, w.api.tokens.approver);
    expect(await w.executor().runOnce()).toMatchObject({ submitted: 1 });
    const final = await w.get(id);
    expect(final).toMatchObject({ state: 'submitted', klear_withdrawal_id: w.simWithdrawals().at(-1)!.id });
    expect(final.attempts.map((a: { state: string }) => a.state)).toEqual(['not_submitted', 'submitted']);
    expect(w.simWithdrawals().length).toBe(simBefore + 1);
  });
});

describe('re-checks at execution', () => {
  it('holds an approved request whose headroom is gone by the time it would be sent, with the figures', async () => {
    const probe = await w.request('900000000.00');
    const headroom = BigInt(probe.body.details.headroom_centicents);
    const big = ((headroom * 6n) / 10n / 100n) * 100n;
    const usd = `${big / 10_000n}.${((big % 10_000n) / 100n).toString().padStart(2, '0')}`;
    // Both fit when requested (pending requests reserve nothing); together they do not.
    const firstRes = await w.request(usd);
    const secondRes = await w.request(usd);
    expect([firstRes.status, secondRes.status]).toEqual([201, 201]);
    const [first, second] = [firstRes.body.id as string, secondRes.body.id as string];
    for (const id of [first, second]) {
      await w.approve(id, w.api.tokens.approver);
      await w.approve(id, w.people.adminApprover);
    }
    const postsBefore = await postsReceived();
    const summary = await w.executor().runOnce();
    expect(summary).toMatchObject({ submitted: 1, held: 1 });
    expect((await w.get(first)).state).toBe('submitted');
    const held = await w.get(second);
    expect(held.state).toBe('approved');
    expect(BigInt(held.execution_hold.shortfall_centicents) > 0n).toBe(true);
    expect(await postsReceived()).toBe(postsBefore + 1);
    await w.cancel(second, w.api.tokens.operator);
  });

  it('sends nothing when an approver was disabled after approving: the request goes back for approval', async () => {
    const res = await w.request('500.00');
    const id = res.body.id as string;
    const temp = await w.api.newUser('temporary-approver', ['approver']);
    await w.approve(id, temp.token);
    await w.api.db.dataSource.query('UPDATE app_user SET disabled_at = now() WHERE id = $1', [temp.id]);
    const postsBefore = await postsReceived();
    expect(await w.executor().runOnce()).toMatchObject({ returnedForApproval: 1, submitted: 0 });
    expect((await w.get(id)).state).toBe('pending_approval');
    expect(await postsReceived()).toBe(postsBefore);
  });

  it("reports the product's withdrawals in flight at Klear, equal to Klear's locked balance", async () => {
    const inFlight = await w.app.get(WithdrawalRepository, { strict: false }).inFlightAtKlear();
    const state = await w.simAdmin('GET', '/state');
    expect(inFlight.totalCenticents.toString()).toBe(state.locked_balance_centicents);
    expect(inFlight.unknownCount).toBe(0);
  });
});

describe('tracking failures', () => {
  let failing: WithdrawalWorld;
  let hook: Server;
  const received: Array<{ body: string }> = [];
  let answer = 500;
  beforeAll(async () => {
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ body });
        res.statusCode = answer;
        res.end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const port = (hook.address() as AddressInfo).port;
    failing = await startWithdrawalWorld({
      sim: { withdrawalFailureRate: 1 },
      env: { WITHDRAWAL_WEBHOOK_URL: `http://127.0.0.1:${port}/alerts`, WITHDRAWAL_WEBHOOK_MAX_ATTEMPTS: '1' },
    });
  });
  afterAll(async () => {
    await failing?.close();
    await new Promise((resolve) => hook.close(resolve));
  });

  it('raises a failed wire to operators through the webhook (retried until accepted) and the audit log', async () => {
    const res = await failing.request('600.00');
    const id = res.body.id as string;
    await failing.approve(id, failing.api.tokens.approver);
    await failing.executor().runOnce();
    await failing.simAdmin('POST', '/clock/advance', { seconds: 400 });
    expect(await failing.tracking().pollOnce()).toMatchObject({ failed: 1, alertsSent: 0, alertsPending: 1 });
    expect((await failing.get(id)).state).toBe('failed');
    answer = 204;
    expect(await failing.tracking().pollOnce()).toMatchObject({ alertsSent: 1, alertsPending: 0 });
    expect(await failing.tracking().pollOnce()).toMatchObject({ alertsSent: 0, alertsPending: 0 });
    expect(received).toHaveLength(2);
    const alert = JSON.parse(received[1].body);
    const klearId = (await failing.get(id)).klear_withdrawal_id;
    expect(alert).toEqual({
      event: 'withdrawal.failed',
      withdrawal_id: id,
      amount_centicents: '6000000',
      amount_usd: '$600.0000',
      klear_withdrawal_id: klearId,
      reason: 'Klear reports the withdrawal wire failed',
      attention_reason: 'wire_failed',
      details: { klear_withdrawal_id: klearId, klear_status: 'failed' },
    });
    const flagged = await failing.api
      .http()
      .get('/withdrawals?needs_attention=true')
      .set('Authorization', `Bearer ${failing.api.tokens.viewer}`);
    expect(flagged.body.data.map((r: { id: string; attention: { reason: string } }) => [r.id, r.attention.reason])).toEqual([
      [id, 'wire_failed'],
    ]);
    expect(received[1].body).not.toContain(failing.sim.options.accessToken);
    const audit = await failing.api
      .http()
      .get(`/audit?entity=withdrawal&entity_id=${id}&order=asc`)
      .set('Authorization', `Bearer ${failing.api.tokens.viewer}`);
    expect(audit.body.data.map((a: { action: string }) => a.action)).toEqual([
      'withdrawal.requested',
      'withdrawal.approved',
      'withdrawal.submitting',
      'withdrawal.submitted',
      'withdrawal.failed',
      'withdrawal.attention_raised',
      'withdrawal.attention_notified',
    ]);
    expect(audit.body.chain.ok).toBe(true);
  });
});

it('keeps the audit chain intact after all of the above', async () => {
  const res = await w.api.http().get('/audit?limit=1').set('Authorization', `Bearer ${w.api.tokens.viewer}`);
  expect(res.body.chain).toMatchObject({ ok: true, problem: null });
});
