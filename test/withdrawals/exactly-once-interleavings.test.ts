import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  EXECUTOR_STEPS,
  type ExecutorCrashPoint,
  type ExecutorHooks,
  type ExecutorRunSummary,
  type ExecutorStepContext,
} from '@app/withdrawals';
import { until } from '../support/poll';
import { SteppedClock } from '../support/stepped-clock';
import { WITHDRAWAL_POST_PATH as POST_PATH } from './executor-drill-process';
import { startWithdrawalWorld, type WithdrawalWorld } from './withdrawal-world';

// Deterministic interleavings of in-process executors: explicit barriers (hooks at each executor step),
// a lock lost by terminating its backend, Klear answers held until released, and time moved by a
// stepped clock (product and rate limiter alike) instead of waited for.
const GRACE_SECONDS = 40;
const clock = new SteppedClock();

let w: WithdrawalWorld;
beforeAll(async () => {
  w = await startWithdrawalWorld({
    env: { WITHDRAWAL_OUTCOME_GRACE_SECONDS: String(GRACE_SECONDS), KLEAR_TIMEOUT_MS: '20000' },
    app: { clock, klearClient: { clock: clock.limiter } },
  });
}, 120_000);
afterAll(async () => w?.close());

let amountSeq = 0;
/** A fresh amount per request, so that Klear's counters can be read per request. */
const nextAmount = () => 5_000_000n + BigInt(++amountSeq) * 100n;
const postsFor = (amount: bigint) => w.klearPostsFor(amount);
/** Requests that reached Klear's POST endpoint at all (faulted ones too). */
const postRequests = async () => Number((await w.simAdmin('GET', '/counters')).requests_by_endpoint[POST_PATH] ?? 0);
const atKlear = (amount: bigint) => w.simWithdrawals().filter((x) => x.amount === amount);
const faults = (rules: unknown[]) => w.simAdmin('PUT', '/faults', { rules });

const approvedRequest = (amount: bigint) => w.approvedRequest(amount);

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Hooks that run `action` the first time the executor reaches `point` (for `requestId` when given), holding it meanwhile. */
function onceAt(
  point: ExecutorCrashPoint,
  action: (context: ExecutorStepContext) => Promise<void> | void,
  requestId?: string,
): ExecutorHooks {
  let done = false;
  return {
    at: async (reached, context) => {
      if (done || reached !== point || (requestId && context.requestId !== requestId)) return;
      done = true;
      await action(context);
    },
  };
}

const loseLock = (pid: number) => w.terminateBackend(pid);

const run = (hooks?: ExecutorHooks): Promise<ExecutorRunSummary> => w.executor().runOnce({ hooks });

/** Executors until the request is submitted (re-approving when a person is asked to); fails when it never is. */
async function settle(id: string): Promise<void> {
  for (let round = 0; round < 6; round++) {
    const state = (await w.get(id)).state as string;
    if (state === 'submitted') return;
    if (state === 'pending_approval') await w.approve(id, w.api.tokens.approver2);
    if (state === 'outcome_unknown' && round > 0) clock.jump((GRACE_SECONDS + 1) * 1000);
    await run();
  }
  expect((await w.get(id)).state).toBe('submitted');
}

describe("the issue's scenario: a 429 with Retry-After, a lock lost during the wait, a second executor", () => {
  it('sends R2 exactly once: the wait happens before the fenced record, and the first executor, having lost its lock, never sends', async () => {
    const [a1, a2] = [nextAmount(), nextAmount()];
    const r1 = await approvedRequest(a1);
    const r2 = await approvedRequest(a2);
    const requestsBefore = await postRequests();
    await faults([{ kind: 'rate_limit_burst', endpoint: POST_PATH, phase: 'before', times: 1, retry_after_seconds: 8 }]);

    const aWaits = deferred<ExecutorStepContext>();
    const bRecovered = deferred();
    const runA = run({ at: (point, context) => void (point === 'rate_limit_wait' && context.requestId === r2 && aWaits.resolve(context)) });
    const waiting = await aWaits.promise;
    // R1 was answered 429: refused, a person must approve it again before any other POST.
    expect(await w.get(r1)).toMatchObject({ state: 'pending_approval', approval_round: 2 });
    expect((await w.get(r2)).state).toBe('submitting');

    await loseLock(waiting.lockBackendPid);
    const runB = run(onceAt('recovered', () => bRecovered.resolve()));
    await bRecovered.promise;
    // B took over: A's attempt never recorded a POST, so it is abandoned and B executes R2 on the same approvals.
    expect((await w.get(r2)).attempts.map((a: { state: string }) => a.state)).toEqual(['abandoned']);
    clock.jump(9_000); // Retry-After: 8 is over for both
    const [summaryA, summaryB] = await Promise.all([runA, runB]);
    await faults([]);

    expect(summaryA.fenced).toEqual(expect.any(String));
    expect(summaryB).toMatchObject({ ran: true, abandoned: 1, submitted: 1, fenced: null });
    const final = await w.get(r2);
    expect({ state: final.state, attempts: final.attempts.map((a: { state: string }) => a.state) }).toEqual({
      state: 'submitted',
      attempts: ['abandoned', 'submitted'],
    });
    expect(atKlear(a2)).toEqual([{ id: final.klear_withdrawal_id, amount: a2 }]);
    expect(await postsFor(a2)).toBe(1);
    expect(await postsFor(a1)).toBe(0);
    // Two requests reached the POST endpoint: R1's (answered 429) and R2's one.
    expect(await postRequests()).toBe(requestsBefore + 2);
    await w.cancel(r1, w.api.tokens.operator);
  }, 60_000);

  it('the variant: a client-side wait longer than the grace period does not eat it; a late Klear still resolves to one withdrawal', async () => {
    const amount = nextAmount();
    const other = await approvedRequest(nextAmount());
    const id = await approvedRequest(amount);
    await faults([
      { kind: 'rate_limit_burst', endpoint: POST_PATH, phase: 'before', times: 1, retry_after_seconds: GRACE_SECONDS + 5 },
      // Klear takes R's POST but shows it late: the request is held before Klear acts.
      { kind: 'hold', endpoint: POST_PATH, phase: 'before', skip: 1, times: 1 },
    ]);
    const aWaits = deferred<ExecutorStepContext>();
    const runA = run({ at: (point, context) => void (point === 'rate_limit_wait' && context.requestId === id && aWaits.resolve(context)) });
    const waiting = await aWaits.promise;
    clock.jump((GRACE_SECONDS + 6) * 1000); // the long client-side wait
    await until(
      'Klear holding the POST',
      async () => (await w.simAdmin('GET', '/holds')).held.length,
      (n) => n > 0,
      120_000,
      25,
    );
    expect((await w.simAdmin('GET', '/holds')).held).toHaveLength(1);

    // The POST is at Klear, unanswered; A loses its lock; B finds R posted moments ago (the grace period
    // counts from the record, not from the attempt's start long before the wait): it waits.
    await loseLock(waiting.lockBackendPid);
    const summaryB = await run();
    expect(summaryB).toMatchObject({ recovered: 1, resolved: { submitted: 0, not_submitted: 0, still_unknown: 1 } });
    expect((await w.get(id)).state).toBe('outcome_unknown');

    await w.simAdmin('POST', '/holds/release', {});
    const summaryA = await runA;
    await faults([]);
    expect(summaryA.fenced).toEqual(expect.any(String));
    await settle(id);
    const final = await w.get(id);
    expect(final.attempts.map((a: { state: string }) => a.state)).toEqual(['submitted']);
    expect(final.klear_answers).toEqual([expect.objectContaining({ outcome: 'created', klear_withdrawal_id: final.klear_withdrawal_id })]);
    expect(atKlear(amount)).toEqual([{ id: final.klear_withdrawal_id, amount }]);
    expect(await postsFor(amount)).toBe(1);
    await w.cancel(other, w.api.tokens.operator);
  }, 60_000);
});

describe('the lock lost at every step, a second executor running meanwhile', () => {
  const steps = EXECUTOR_STEPS.filter((s) => s !== 'rate_limit_wait');

  it.each(steps)(
    'lost at %s: at most one POST for the request, which ends submitted with its id',
    async (step) => {
      const amount = nextAmount();
      const id = await approvedRequest(amount);
      let summaryB: ExecutorRunSummary | null = null;
      const summaryA = await run(
        onceAt(step, async (context) => {
          await loseLock(context.lockBackendPid);
          summaryB = await run();
        }),
      );
      expect(summaryB).toMatchObject({ ran: true, fenced: null });
      // Whatever A had not recorded before losing its lock, it did not send.
      expect(await postsFor(amount)).toBeLessThanOrEqual(1);
      await settle(id);
      const final = await w.get(id);
      expect(final.state).toBe('submitted');
      expect(atKlear(amount)).toEqual([{ id: final.klear_withdrawal_id, amount }]);
      expect(await postsFor(amount)).toBe(1);
      if (step === 'after_posting_record') expect(summaryA.fenced).toEqual(expect.any(String));
    },
    60_000,
  );

  it('three executors, each taking over from the last at a barrier, send one POST', async () => {
    const amount = nextAmount();
    const id = await approvedRequest(amount);
    const summaries: ExecutorRunSummary[] = [];
    summaries.push(
      await run(
        onceAt('before_posting_record', async (a) => {
          await loseLock(a.lockBackendPid);
          summaries.push(
            await run(
              onceAt('after_posting_record', async (b) => {
                await loseLock(b.lockBackendPid);
                summaries.push(await run());
              }),
            ),
          );
        }),
      ),
    );
    await settle(id);
    const final = await w.get(id);
    expect(final.state).toBe('submitted');
    expect(atKlear(amount)).toEqual([{ id: final.klear_withdrawal_id, amount }]);
    expect(await postsFor(amount)).toBe(1);
    expect(summaries.map((s) => s.fenced === null)).toEqual([true, false, false]);
  }, 60_000);
});

describe('waits and stalls around the POST', () => {
  it('a Retry-After longer than the accepted wait abandons the attempt unsent; the next run sends it once', async () => {
    const first = await approvedRequest(nextAmount());
    const amount = nextAmount();
    const id = await approvedRequest(amount);
    await faults([{ kind: 'rate_limit_burst', endpoint: POST_PATH, phase: 'before', times: 1, retry_after_seconds: 600 }]);
    const summary = await run();
    await faults([]);
    expect(summary).toMatchObject({ notSubmitted: 1, notSent: 1, submitted: 0 });
    expect((await w.get(id)).attempts).toEqual([expect.objectContaining({ state: 'abandoned', posted_at: null })]);
    expect((await w.get(id)).state).toBe('approved');
    clock.jump(601_000);
    expect(await run()).toMatchObject({ submitted: 1 });
    expect(await postsFor(amount)).toBe(1);
    await w.cancel(first, w.api.tokens.operator);
  }, 60_000);

  it('a process stalled after its record for more than half the grace period does not send at all', async () => {
    const amount = nextAmount();
    const id = await approvedRequest(amount);
    const requestsBefore = await postRequests();
    const summary = await run(onceAt('after_posting_record', () => clock.jump((GRACE_SECONDS / 2 + 1) * 1000), id));
    expect(summary).toMatchObject({ notSent: 1, submitted: 0 });
    expect(await postRequests()).toBe(requestsBefore);
    expect((await w.get(id)).attempts).toEqual([expect.objectContaining({ state: 'abandoned', posted_at: expect.any(String) })]);
    expect(await run()).toMatchObject({ submitted: 1 });
    expect(await postsFor(amount)).toBe(1);
  }, 60_000);
});

describe("Klear's answer is written first, always", () => {
  it('an id Klear answered that another request already holds is kept, flagged for a person, never claimed or re-sent', async () => {
    const bystander = (await w.request('12.00')).body.id as string;
    await w.cancel(bystander, w.api.tokens.operator);
    const amount = nextAmount();
    const id = await approvedRequest(amount);
    const summary = await run(
      onceAt(
        'after_answer_recorded',
        async (context) => {
          const [answer] = (await w.api.db.dataSource.query(
            'SELECT klear_withdrawal_id FROM withdrawal_klear_answer WHERE attempt_id = $1',
            [context.attemptId],
          )) as Array<{ klear_withdrawal_id: string }>;
          // Another request holds that id before this one can record it.
          await w.api.db.dataSource.query('UPDATE withdrawal_request SET klear_withdrawal_id = $2 WHERE id = $1', [
            bystander,
            answer.klear_withdrawal_id,
          ]);
        },
        id,
      ),
    );
    expect(summary).toMatchObject({ outcomeUnknown: 1, submitted: 0 });
    const detail = await w.get(id);
    const klearId = atKlear(amount)[0].id;
    expect(detail).toMatchObject({
      state: 'outcome_unknown',
      klear_withdrawal_id: null,
      needs_attention: true,
      attention: { reason: 'klear_id_conflict', details: { klear_withdrawal_id: klearId, held_by: bystander } },
    });
    expect(detail.klear_answers).toEqual([expect.objectContaining({ outcome: 'created', klear_withdrawal_id: klearId, http_status: 200 })]);
    // The resolver confirms the id on Klear's status endpoint but will not take it from its holder.
    expect(await run()).toMatchObject({ resolved: { submitted: 0, not_submitted: 0, still_unknown: 1 } });
    clock.jump((GRACE_SECONDS + 1) * 1000);
    expect(await run()).toMatchObject({ resolved: { submitted: 0, not_submitted: 0, still_unknown: 1 } });
    expect(await postsFor(amount)).toBe(1);
    const flagged = await w.api.http().get('/withdrawals?needs_attention=true').set('Authorization', `Bearer ${w.api.tokens.viewer}`);
    expect(flagged.body.data.map((r: { id: string }) => r.id)).toContain(id);
    const audit = await w.api.http().get(`/audit?entity=withdrawal&entity_id=${id}`).set('Authorization', `Bearer ${w.api.tokens.viewer}`);
    expect(audit.body.data.map((a: { action: string }) => a.action)).toContain('withdrawal.attention_raised');
    await expect(w.api.db.dataSource.query('UPDATE withdrawal_klear_answer SET klear_withdrawal_id = NULL')).rejects.toThrow(/append-only/);
    await expect(w.api.db.dataSource.query('DELETE FROM withdrawal_klear_answer')).rejects.toThrow(/append-only/);
    // Put the world back for the tests after: the bystander gives the id up, the request claims it.
    await w.api.db.dataSource.query('UPDATE withdrawal_request SET klear_withdrawal_id = NULL WHERE id = $1', [bystander]);
    expect(await run()).toMatchObject({ resolved: { submitted: 1 } });
    expect(await w.get(id)).toMatchObject({ state: 'submitted', klear_withdrawal_id: klearId, needs_attention: false });
  }, 60_000);
});

describe("the outcome resolver: Klear's ids and status endpoint first; portal withdrawals never claimed", () => {
  it('a withdrawal made in the Klear portal (another amount) is recognised as external; ours, absent, is not submitted after the grace period', async () => {
    const amount = nextAmount();
    const id = await approvedRequest(amount);
    await faults([{ kind: 'status', endpoint: POST_PATH, status: 503, phase: 'before', times: 1 }]);
    expect(await run()).toMatchObject({ outcomeUnknown: 1 });
    await faults([]);
    const portal = await w.simAdmin('POST', '/withdrawals', { amount_centicents: (amount + 7_777_700n).toString() });
    expect(portal.source).toBe('portal');
    clock.jump((GRACE_SECONDS + 1) * 1000);
    expect(await run()).toMatchObject({ resolved: { not_submitted: 1 } });
    const detail = await w.get(id);
    expect(detail.state).toBe('pending_approval');
    expect(detail.attempts[0].resolution).toMatchObject({
      conclusion: 'not_submitted',
      candidates: [],
      external_withdrawals: [expect.objectContaining({ id: portal.id })],
    });
    await w.cancel(id, w.api.tokens.operator);
  }, 60_000);

  it('a portal withdrawal of the same amount beside ours is ambiguous: outcome_unknown for a person, nothing sent, nothing claimed', async () => {
    const amount = nextAmount();
    const id = await approvedRequest(amount);
    await faults([{ kind: 'status', endpoint: POST_PATH, status: 503, phase: 'after', times: 1 }]);
    expect(await run()).toMatchObject({ outcomeUnknown: 1 });
    await faults([]);
    await w.simAdmin('POST', '/withdrawals', { amount_centicents: amount.toString() });
    expect(atKlear(amount)).toHaveLength(2);
    clock.jump((GRACE_SECONDS + 1) * 1000);
    expect(await run()).toMatchObject({ resolved: { submitted: 0, not_submitted: 0, still_unknown: 1 } });
    const detail = await w.get(id);
    expect(detail).toMatchObject({ state: 'outcome_unknown', klear_withdrawal_id: null, attention: { reason: 'outcome_ambiguous' } });
    expect(detail.attempts[0].resolution.candidates).toHaveLength(2);
    expect(await postsFor(amount)).toBe(1);
  }, 60_000);

  it("a request submitted without a Klear id is resolved to its id from Klear's status endpoint, or flagged for a person", async () => {
    const amount = nextAmount();
    const id = await approvedRequest(amount);
    expect(await run()).toMatchObject({ submitted: 1 });
    const klearId = (await w.get(id)).klear_withdrawal_id as string;
    const broken = await approvedRequest(nextAmount());
    expect(await run()).toMatchObject({ submitted: 1 });
    // As older versions left them: submitted, no id on the request or the attempt, a reference in the resolution.
    const ds = w.api.db.dataSource;
    for (const [request, reference] of [
      [id, klearId],
      [broken, 'bt-not-a-withdrawal'],
    ] as const) {
      await ds.query('UPDATE withdrawal_request SET klear_withdrawal_id = NULL WHERE id = $1', [request]);
      await ds.query(
        `UPDATE withdrawal_attempt SET klear_withdrawal_id = NULL, resolution = jsonb_build_object('business_transaction_id', $2::text) WHERE request_id = $1`,
        [request, reference],
      );
    }
    await ds.query('ALTER TABLE withdrawal_klear_answer DISABLE TRIGGER withdrawal_klear_answer_no_update_delete');
    await ds.query('DELETE FROM withdrawal_klear_answer WHERE request_id = ANY($1::uuid[])', [[id, broken]]);
    await ds.query('ALTER TABLE withdrawal_klear_answer ENABLE TRIGGER withdrawal_klear_answer_no_update_delete');
    expect(await w.tracking().pollOnce()).toMatchObject({ idsConfirmed: 1 });
    expect(await w.get(id)).toMatchObject({ klear_withdrawal_id: klearId, needs_attention: false });
    expect(await w.get(broken)).toMatchObject({
      klear_withdrawal_id: null,
      needs_attention: true,
      attention: { reason: 'klear_id_unconfirmed' },
    });
  }, 60_000);
});

it('keeps the audit chain intact after all of the above', async () => {
  const res = await w.api.http().get('/audit?limit=1').set('Authorization', `Bearer ${w.api.tokens.viewer}`);
  expect(res.body.chain).toMatchObject({ ok: true, problem: null });
});
