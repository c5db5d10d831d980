import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildExecutorDrill, type DrillRun, postRequestsReceived, runExecutorDrill, waitOutGrace as waitOutGraceOf, WITHDRAWAL_POST_PATH as POST_PATH } from './executor-drill-process';
import { startWithdrawalWorld, type WithdrawalWorld } from './withdrawal-world';

const GRACE_SECONDS = 6;

let w: WithdrawalWorld;
beforeAll(async () => {
  buildExecutorDrill();
  w = await startWithdrawalWorld({ env: { WITHDRAWAL_OUTCOME_GRACE_SECONDS: String(GRACE_SECONDS), KLEAR_TIMEOUT_MS: '2500' } });
}, 120_000);
afterAll(async () => w?.close());

const drill = (options: Parameters<typeof runExecutorDrill>[1] = {}): Promise<DrillRun> => runExecutorDrill(w, options);
const postsReceived = () => postRequestsReceived(w);
const atKlear = (amount: bigint) => w.simWithdrawals().filter((x) => x.amount === amount);

const waitOutGrace = (id: string) => waitOutGraceOf(w, id, GRACE_SECONDS);

async function approvedRequest(amount: string): Promise<string> {
  const res = await w.request(amount);
  expect(res.status).toBe(201);
  await w.approve(res.body.id, w.api.tokens.approver);
  expect((await w.get(res.body.id)).state).toBe('approved');
  return res.body.id as string;
}

describe('the executor killed with SIGKILL, then restarted', () => {
  it('after committing submitting (before the POST): nothing reached Klear; proven not submitted, re-approved, sent once', async () => {
    const id = await approvedRequest('1111.11');
    const postsBefore = await postsReceived();
    const crashed = await drill({ crashAt: 'after_submitting_committed' });
    expect(crashed.signal).toBe('SIGKILL');
    expect(crashed.lines).toEqual(['REACHED after_submitting_committed']);
    expect((await w.get(id)).state).toBe('submitting');
    expect(await postsReceived()).toBe(postsBefore);

    const restarted = await drill();
    expect(restarted.summary).toMatchObject({ recovered: 1, resolved: { still_unknown: 1 }, submitted: 0 });
    expect((await w.get(id)).state).toBe('outcome_unknown');
    await waitOutGrace(id);
    expect((await drill()).summary).toMatchObject({ resolved: { not_submitted: 1 }, submitted: 0 });
    expect(await w.get(id)).toMatchObject({ state: 'pending_approval', approval_round: 2 });
    await w.approve(id, w.api.tokens.approver2);
    expect((await drill()).summary).toMatchObject({ submitted: 1 });

    const final = await w.get(id);
    expect(atKlear(11_111_100n)).toEqual([{ id: final.klear_withdrawal_id, amount: 11_111_100n }]);
    expect(final.state).toBe('submitted');
    expect(final.attempts.map((a: { state: string }) => a.state)).toEqual(['not_submitted', 'submitted']);
    expect(await postsReceived()).toBe(postsBefore + 1);
  });

  it('during the Klear call (the POST held by simulator latency): resolved from Klear records, exactly one withdrawal', async () => {
    const id = await approvedRequest('2222.22');
    await w.simAdmin('PUT', '/faults', { rules: [{ kind: 'latency', endpoint: POST_PATH, latency_ms: 1500, times: 1 }] });
    const postsBefore = await postsReceived();
    const crashed = await drill({
      onLine: (line, kill) => {
        if (line === 'REACHED after_submitting_committed') setTimeout(kill, 500);
      },
    });
    expect(crashed.signal).toBe('SIGKILL');
    expect(crashed.lines).toEqual(['REACHED after_submitting_committed']);
    await w.simAdmin('DELETE', '/faults');
    expect((await w.get(id)).state).toBe('submitting');

    // Restarted at once: the interrupted attempt is outcome_unknown first; it is settled only by
    // a lock in Klear's history or, after the grace period, by its absence.
    const restarted = (await drill()).summary!;
    expect(restarted).toMatchObject({ recovered: 1, resolved: { not_submitted: 0 } });
    await waitOutGrace(id);
    const later = restarted.resolved.submitted === 1 ? restarted : (await drill()).summary!;
    const created = atKlear(22_222_200n);
    if (created.length === 1) {
      // The simulator finished the POST after the client died: the lock in balance history proves it.
      expect(later.resolved).toMatchObject({ submitted: 1 });
      expect(await w.get(id)).toMatchObject({ state: 'submitted', klear_withdrawal_id: created[0].id });
    } else {
      // The simulator dropped the POST with the connection: proven absent, sent once after re-approval.
      expect(later.resolved).toMatchObject({ not_submitted: 1 });
      await w.approve(id, w.api.tokens.approver2);
      await drill();
    }
    const final = await w.get(id);
    expect(atKlear(22_222_200n)).toEqual([{ id: final.klear_withdrawal_id, amount: 22_222_200n }]);
    expect(final.state).toBe('submitted');
    expect(await postsReceived()).toBe(postsBefore + (created.length === 1 ? 1 : 2));
  });

  it('after Klear answered but before submitted was committed: found in balance history at once, never sent again', async () => {
    const id = await approvedRequest('3333.33');
    const postsBefore = await postsReceived();
    const crashed = await drill({ crashAt: 'after_klear_answered' });
    expect(crashed.signal).toBe('SIGKILL');
    expect(crashed.lines).toEqual(['REACHED after_submitting_committed', 'REACHED after_klear_answered']);
    expect((await w.get(id)).state).toBe('submitting');
    const created = atKlear(33_333_300n);
    expect(created).toHaveLength(1);

    expect((await drill()).summary).toMatchObject({ recovered: 1, resolved: { submitted: 1, still_unknown: 0 }, submitted: 0 });
    const final = await w.get(id);
    expect(final).toMatchObject({ state: 'submitted', klear_withdrawal_id: created[0].id });
    expect(final.attempts).toEqual([expect.objectContaining({ state: 'submitted', klear_withdrawal_id: created[0].id, resolution: expect.objectContaining({ conclusion: 'submitted', klear_id_confirmed: true }) })]);
    expect(final.history.map((h: { to: string }) => h.to)).toEqual(['pending_approval', 'approved', 'submitting', 'outcome_unknown', 'submitted']);
    expect(await drill()).toMatchObject({ summary: { submitted: 0, resolved: { submitted: 0 } } });
    expect(atKlear(33_333_300n)).toHaveLength(1);
    expect(await postsReceived()).toBe(postsBefore + 1);
  });
});

describe('executors in separate processes', () => {
  it('three executor processes started together on one approved request send exactly one POST, three times over', async () => {
    for (let round = 0; round < 3; round++) {
      const amount = 4_440_000n + BigInt(round) * 100n;
      const id = await approvedRequest(`${amount / 10_000n}.${((amount % 10_000n) / 100n).toString().padStart(2, '0')}`);
      const postsBefore = await postsReceived();
      await Promise.all([drill(), drill(), drill()]);
      expect({ round, state: (await w.get(id)).state }).toEqual({ round, state: 'submitted' });
      expect(atKlear(amount)).toHaveLength(1);
      expect(await postsReceived()).toBe(postsBefore + 1);
    }
  });

  it('leaves a verifiable audit chain after the crashes', async () => {
    const res = await w.api.http().get('/audit?limit=1').set('Authorization', `Bearer ${w.api.tokens.viewer}`);
    expect(res.body.chain).toMatchObject({ ok: true, problem: null });
  });
});
