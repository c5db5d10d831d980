import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EXECUTOR_STEPS } from '@app/withdrawals';
import { type DrillRun, postRequestsReceived, runExecutorDrill, WITHDRAWAL_POST_PATH as POST_PATH } from './executor-drill-process';
import { until } from '../support/poll';
import { startWithdrawalWorld, type WithdrawalWorld } from './withdrawal-world';

/**
 * Long enough that no drill on a busy machine outlives it by accident (a crashed attempt is resolved
 * inside the grace period unless the test says otherwise); a restart after it is simulated through the
 * drill's clock, never waited for.
 */
const GRACE_SECONDS = 600;
/** A restarted drill whose clock runs past the grace period: a restart after a long outage, without waiting for it. */
const AFTER_GRACE_MS = (GRACE_SECONDS + 1) * 1000;
/** A deadline for a test that restarts executor processes: each boots a Nest context (seconds at load 20+). */
const DRILL_TEST_MS = 600_000;

let w: WithdrawalWorld;
beforeAll(async () => {
  w = await startWithdrawalWorld({ env: { WITHDRAWAL_OUTCOME_GRACE_SECONDS: String(GRACE_SECONDS), KLEAR_TIMEOUT_MS: '2500' } });
}, DRILL_TEST_MS);
afterAll(async () => w?.close());

const drill = (options: Parameters<typeof runExecutorDrill>[1] = {}): Promise<DrillRun> => runExecutorDrill(w, options);
const postsReceived = () => postRequestsReceived(w);
const atKlear = (amount: bigint) => w.simWithdrawals().filter((x) => x.amount === amount);
const postsFor = (amount: bigint) => w.klearPostsFor(amount);

const approvedRequest = (amount: bigint) => w.approvedRequest(amount);

/** Restarted executors (and re-approval when a fresh round is asked for) until the request is submitted. */
async function settle(id: string): Promise<void> {
  for (let round = 0; round < 6; round++) {
    const state = (await w.get(id)).state as string;
    if (state === 'submitted') return;
    if (state === 'pending_approval') await w.approve(id, w.api.tokens.approver2);
    const run = await drill(state === 'outcome_unknown' && round > 0 ? { clockOffsetMs: AFTER_GRACE_MS } : {});
    expect(run.code).toBe(0);
  }
}

// Where a SIGKILL at each step leaves the request, and what settles it.
const EXPECTED: Record<string, { stateAfterCrash: string; attempts: string[] }> = {
  lease_acquired: { stateAfterCrash: 'approved', attempts: ['submitted'] },
  recovered: { stateAfterCrash: 'approved', attempts: ['submitted'] },
  resolved: { stateAfterCrash: 'approved', attempts: ['submitted'] },
  // Nothing was recorded as leaving: the attempt is abandoned and the same approvals send it once.
  after_submitting_committed: { stateAfterCrash: 'submitting', attempts: ['abandoned', 'submitted'] },
  before_posting_record: { stateAfterCrash: 'submitting', attempts: ['abandoned', 'submitted'] },
  // Recorded as leaving but killed before it left: absent at Klear after the grace period, a person re-approves.
  after_posting_record: { stateAfterCrash: 'submitting', attempts: ['not_submitted', 'submitted'] },
  // Klear created it: found from Klear's records (or the answer recorded first), never sent again.
  after_klear_answered: { stateAfterCrash: 'submitting', attempts: ['submitted'] },
  after_answer_recorded: { stateAfterCrash: 'submitting', attempts: ['submitted'] },
  after_outcome_committed: { stateAfterCrash: 'submitted', attempts: ['submitted'] },
};

describe('the executor killed with SIGKILL at every step, then restarted', () => {
  const steps = EXECUTOR_STEPS.filter((s) => s !== 'rate_limit_wait');
  it('covers every step of the executor but the rate-limit wait (attacked in exactly-once-interleavings)', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...steps].sort());
  });

  it.each(steps.map((step, i) => [step, i] as const))(
    'killed at %s: at most one POST reaches Klear, and the request ends submitted with its id',
    async (step, i) => {
      const amount = 1_110_000n + BigInt(i) * 100n;
      const id = await approvedRequest(amount);
      const crashed = await drill({ crashAt: step });
      expect(crashed.signal).toBe('SIGKILL');
      expect(crashed.lines.at(-1)).toBe(`REACHED ${step}`);
      expect((await w.get(id)).state).toBe(EXPECTED[step].stateAfterCrash);

      await settle(id);
      const final = await w.get(id);
      expect({ state: final.state, attempts: final.attempts.map((a: { state: string }) => a.state) }).toEqual({
        state: 'submitted',
        attempts: EXPECTED[step].attempts,
      });
      expect(atKlear(amount)).toEqual([{ id: final.klear_withdrawal_id, amount }]);
      expect(await postsFor(amount)).toBe(1);
      expect((await drill()).summary).toMatchObject({ submitted: 0, resolved: { submitted: 0, not_submitted: 0 } });
      expect(await postsFor(amount)).toBe(1);
    },
    DRILL_TEST_MS,
  );

  it(
    'killed while Klear holds its answer (Klear acted, the answer never arrives): resolved from Klear records, one withdrawal',
    async () => {
      const amount = 2_222_200n;
      const id = await approvedRequest(amount);
      await w.simAdmin('PUT', '/faults', { rules: [{ kind: 'hold', endpoint: POST_PATH, phase: 'after', times: 1 }] });
      const crashed = await drill({
        onLine: (line, kill) => {
          if (line !== 'REACHED after_posting_record') return;
          // Kill once Klear has acted and holds its answer.
          void (async () => {
            await until(
              'Klear holding its answer',
              async () => (await w.simAdmin('GET', '/holds')).held.length,
              (n) => n > 0,
              120_000,
              25,
            );
            kill();
          })();
        },
      });
      expect(crashed.signal).toBe('SIGKILL');
      expect((await w.simAdmin('POST', '/holds/release', {})).released).toBe(1);
      await w.simAdmin('DELETE', '/faults');
      expect((await w.get(id)).state).toBe('submitting');
      await settle(id);
      const final = await w.get(id);
      expect(atKlear(amount)).toEqual([{ id: final.klear_withdrawal_id, amount }]);
      expect(final.attempts).toEqual([
        expect.objectContaining({
          state: 'submitted',
          resolution: expect.objectContaining({ source: 'klear_records', klear_id_confirmed: true, history_lock: true }),
        }),
      ]);
      expect(await postsFor(amount)).toBe(1);
    },
    DRILL_TEST_MS,
  );
});

describe('executors in separate processes', () => {
  it(
    'two, then three executor processes started together on one approved request send exactly one POST',
    async () => {
      for (const [round, count] of [
        [0, 2],
        [1, 3],
        [2, 3],
      ] as const) {
        const amount = 4_440_000n + BigInt(round) * 100n;
        const id = await approvedRequest(amount);
        const postsBefore = await postsReceived();
        const runs = await Promise.all(Array.from({ length: count }, () => drill()));
        expect(runs.filter((r) => r.summary?.ran).length).toBeGreaterThanOrEqual(1);
        await settle(id);
        expect({ round, state: (await w.get(id)).state }).toEqual({ round, state: 'submitted' });
        expect(atKlear(amount)).toHaveLength(1);
        expect(await postsReceived()).toBe(postsBefore + 1);
      }
    },
    DRILL_TEST_MS,
  );

  it('leaves a verifiable audit chain after the crashes', async () => {
    const res = await w.api.http().get('/audit?limit=1').set('Authorization', `Bearer ${w.api.tokens.viewer}`);
    expect(res.body.chain).toMatchObject({ ok: true, problem: null });
  });
});
