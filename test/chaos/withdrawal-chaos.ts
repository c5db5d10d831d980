import { expect } from '@jest/globals';
import { EXECUTOR_STEPS, type ExecutorCrashPoint, type ExecutorHooks, WithdrawalRepository } from '@app/withdrawals';
import { postRequestsReceived, runExecutorDrill, waitOutGrace, WITHDRAWAL_POST_PATH } from '../withdrawals/executor-drill-process';
import { startWithdrawalWorld, usdOf as usd, type WithdrawalWorld } from '../withdrawals/withdrawal-world';
import { ChaosRandom } from './chaos-seeds';

/** Every step of the executor where a drill can be killed or an in-process executor can lose its lock (the rate-limit wait needs a 429 first: rate_limit_429). */
const STEPS = EXECUTOR_STEPS.filter((s): s is Exclude<ExecutorCrashPoint, 'rate_limit_wait'> => s !== 'rate_limit_wait');
/** Where the first executor dies (SIGKILL), if it does: every step of the drill, or while the POST is in flight. */
export const CRASH_POINTS = ['none', ...STEPS, 'during_post'] as const;
/**
 * Where the first (in-process) executor loses its lock (its backend terminated) while a second one runs, when nothing crashes.
 * `rate_limit_wait` is the scenario: another request's POST was answered 429 with a Retry-After, and the
 * executor loses its lock while our POST waits for the rate limiter.
 */
export const LOCK_LOSS_POINTS = ['none', ...STEPS, 'rate_limit_wait'] as const;
/**
 * What people do to the request meanwhile, when nothing crashes and no lock is lost: an approver revokes their
 * approval or rejects, at a barrier at one step of the executor (before execution they win, after it they are
 * refused with 409); or Klear answers with an id another request holds (a conflict a person must settle).
 */
export const PERSON_ACTIONS = ['none', 'revoke', 'reject', 'klear_id_conflict'] as const;
/** The executor steps at which a revoke or reject is made (the executor held there until it is answered). */
export const DECISION_STEPS = [
  'lease_acquired',
  'recovered',
  'resolved',
  'after_submitting_committed',
  'before_posting_record',
  'after_posting_record',
] as const;
/** Steps at which the request is still approved and not yet being executed: a revoke or reject made there wins. */
const BEFORE_EXECUTION: ReadonlySet<string> = new Set(['lease_acquired', 'recovered', 'resolved']);
/** A one-shot fault on the first POST when nothing crashes: before Klear acts, or after it created the withdrawal; or a 429 with a Retry-After. */
export const POST_FAULTS = [
  'none',
  'status_503_before',
  'status_503_after',
  'timeout_after',
  'connection_reset_after',
  'rate_limit_429',
] as const;

/** Everything random about one withdrawal run, derived from its seed. */
export interface WithdrawalChaosPlan {
  simSeed: number;
  /** The amount as a share of the headroom, in basis points. */
  amountShareBp: number;
  crash: (typeof CRASH_POINTS)[number];
  /** When nothing crashes: the step where the first executor loses its lock while another runs. */
  lockLossAt: (typeof LOCK_LOSS_POINTS)[number];
  /** Retry-After of a `rate_limit_429` fault, seconds. */
  retryAfterSeconds: number;
  /** For `during_post`: how long Klear holds the POST, and when the executor is killed after committing submitting. */
  postLatencyMs: number;
  killAfterMs: number;
  postFault: (typeof POST_FAULTS)[number];
  /** Approvals sent at once (from four approvers, one also an admin). */
  concurrentApprovals: number;
  /** Executors racing those approvals in the API process (when nothing is to crash). */
  racingExecutors: number;
  /** Per recovery round: executor processes and in-process executors started together. */
  recoveryProcesses: number;
  recoveryInProcess: number;
  /** Revoke, reject or a conflicting Klear id (when nothing crashes and no lock is lost). */
  person: (typeof PERSON_ACTIONS)[number];
  /** For revoke and reject: the executor step they are made at. */
  decisionAt: (typeof DECISION_STEPS)[number];
  /**
   * When the request is `outcome_unknown`: two people settle it by hand from Klear's records (after the grace
   * period), racing an executor whose resolver may settle it at the same moment; otherwise the executor alone.
   */
  manualResolution: boolean;
}

/** Above the longest a POST can take at Klear here (latency at most 1.2 s, client timeout 1.5 s). */
export const GRACE_SECONDS = 2;
const KLEAR_TIMEOUT_MS = 1500;
/** The other request of the scenario: $100.00. */
const DECOY_CENTICENTS = 100n * 10_000n;

/**
 * What disturbs a seed's run, drawn first and uniformly, so that 50 seeds meet each a few times: a SIGKILL,
 * a lost lock (with a POST fault or not), the lost lock during a 429 wait, a POST fault alone, or
 * a person's move (revoke, reject) or a conflicting Klear id.
 */
export const DISTURBANCES = ['crash', 'lock_loss', 'lock_loss_in_429_wait', 'post_fault', 'revoke', 'reject', 'klear_id_conflict'] as const;

export function withdrawalChaosPlan(seed: number): WithdrawalChaosPlan {
  const r = new ChaosRandom(seed, 'withdrawals');
  const disturbance = r.pick(DISTURBANCES);
  const postLatencyMs = r.int(500, 1200);
  const plan: WithdrawalChaosPlan = {
    simSeed: r.uint32(),
    amountShareBp: r.int(50, 5000),
    crash: disturbance === 'crash' ? r.pick(CRASH_POINTS.filter((c) => c !== 'none')) : 'none',
    postLatencyMs,
    killAfterMs: r.int(50, postLatencyMs - 150),
    postFault: disturbance === 'lock_loss' || disturbance === 'post_fault' ? r.pick(POST_FAULTS) : 'none',
    lockLossAt: disturbance === 'lock_loss' ? r.pick(LOCK_LOSS_POINTS.filter((l) => l !== 'none' && l !== 'rate_limit_wait')) : 'none',
    retryAfterSeconds: r.int(0, 2),
    concurrentApprovals: r.int(2, 24),
    racingExecutors: r.int(1, 3),
    recoveryProcesses: r.int(1, 3),
    recoveryInProcess: r.int(0, 2),
    person: disturbance === 'revoke' || disturbance === 'reject' || disturbance === 'klear_id_conflict' ? disturbance : 'none',
    decisionAt: r.pick(DECISION_STEPS),
    manualResolution: r.chance(0.5),
  };
  if (disturbance === 'lock_loss_in_429_wait') {
    // The 429 lands on the other request's POST (sent first); ours then waits for the rest of its 3 to 5 s
    // (long enough that ours, read and recorded as submitting meanwhile, still finds the pause on a loaded machine).
    plan.lockLossAt = 'rate_limit_wait';
    plan.postFault = 'rate_limit_429';
    plan.retryAfterSeconds += 3;
  }
  return plan;
}

/** Whether a revoke or reject of the plan wins (made before execution) rather than being refused. */
export const decisionWins = (plan: WithdrawalChaosPlan) =>
  (plan.person === 'revoke' || plan.person === 'reject') && BEFORE_EXECUTION.has(plan.decisionAt);

/** How many attempts the request must end with, and how many POSTs must reach Klear's door, for a plan. */
export function expectedAttempts(plan: WithdrawalChaosPlan): { min: number; max: number } {
  // A rejection before execution: nothing was attempted.
  if (plan.person === 'reject' && decisionWins(plan)) return { min: 0, max: 0 };
  // Lost while waiting: normally abandoned (never recorded as leaving) and sent by the second executor; one attempt
  // when the wait ended before the lock was gone (the first executor then sent it, and the second found it).
  if (plan.lockLossAt === 'rate_limit_wait') return { min: 1, max: 2 };
  // Stopped before its POST was recorded as leaving: abandoned, then sent on the same approvals.
  if (plan.crash === 'after_submitting_committed' || plan.crash === 'before_posting_record') return { min: 2, max: 2 };
  // Recorded as leaving, never left; or refused by Klear: not submitted, then a fresh approval round.
  if (plan.crash === 'after_posting_record' || plan.postFault === 'status_503_before' || plan.postFault === 'rate_limit_429') {
    return { min: 2, max: plan.lockLossAt === 'after_submitting_committed' || plan.lockLossAt === 'before_posting_record' ? 3 : 2 };
  }
  // Killed while Klear holds the POST: Klear may finish it (one attempt) or drop it with the connection (two).
  if (plan.crash === 'during_post') return { min: 1, max: 2 };
  if (plan.lockLossAt === 'after_submitting_committed' || plan.lockLossAt === 'before_posting_record') return { min: 2, max: 2 };
  return { min: 1, max: 1 };
}

const POST_FAULT_RULES: Record<WithdrawalChaosPlan['postFault'], Array<Record<string, unknown>>> = {
  none: [],
  status_503_before: [{ kind: 'status', status: 503, phase: 'before' }],
  status_503_after: [{ kind: 'status', status: 503, phase: 'after' }],
  timeout_after: [{ kind: 'timeout', phase: 'after' }],
  connection_reset_after: [{ kind: 'connection_reset', phase: 'after' }],
  rate_limit_429: [{ kind: 'rate_limit_burst', phase: 'before' }],
};

/** The first executor loses its lock at `step` (for this request); a second executor runs to its end meanwhile. */
function lockLossHooks(w: WithdrawalWorld, step: ExecutorCrashPoint, requestId: string): ExecutorHooks {
  let done = false;
  return {
    at: async (reached, context) => {
      if (done || reached !== step || (context.requestId !== undefined && context.requestId !== requestId)) return;
      done = true;
      await w.terminateBackend(context.lockBackendPid);
      await w.executor().runOnce();
    },
  };
}

/** The scenario: the first executor loses its lock while our POST waits out another request's 429; a second executor runs meanwhile (awaited through `second`). */
function lockLossInWaitHooks(w: WithdrawalWorld, requestId: string, second: { run?: Promise<unknown> }): ExecutorHooks {
  return {
    at: (reached, context) => {
      if (second.run || reached !== 'rate_limit_wait' || context.requestId !== requestId) return;
      // The executor does not wait for this hook: the lock goes while it waits for the rate limiter.
      second.run = w.terminateBackend(context.lockBackendPid).then(() => w.executor().runOnce());
    },
  };
}

/** An approver revokes their approval, or rejects, while the executor is held at `step`: answered 200 before execution, 409 after. */
function decisionHooks(w: WithdrawalWorld, plan: WithdrawalChaosPlan, requestId: string): ExecutorHooks {
  let done = false;
  return {
    at: async (reached, context) => {
      if (done || reached !== plan.decisionAt || (context.requestId !== undefined && context.requestId !== requestId)) return;
      done = true;
      const token = await approverInForce(w, requestId);
      const answer =
        plan.person === 'revoke'
          ? await w.api
              .http()
              .post(`/withdrawals/${requestId}/revoke-approval`)
              .set('Authorization', `Bearer ${token}`)
              .send({ reason: 'chaos: second thoughts' })
          : await w.reject(requestId, token, 'chaos: not in the plan after all');
      const expected = decisionWins(plan)
        ? { status: 200, state: plan.person === 'revoke' ? 'pending_approval' : 'rejected' }
        : { status: 409, state: 'WITHDRAWAL_NOT_PENDING' };
      expect({ status: answer.status, state: answer.status === 200 ? answer.body.state : answer.body.code }).toEqual(expected);
    },
  };
}

/** Klear answers our POST with an id that another (cancelled) request holds by the time the answer is recorded. */
function klearIdConflictHooks(w: WithdrawalWorld, requestId: string, bystander: string): ExecutorHooks {
  let done = false;
  return {
    at: async (reached, context) => {
      if (done || reached !== 'after_answer_recorded' || context.requestId !== requestId) return;
      done = true;
      const [answer] = (await w.api.db.dataSource.query('SELECT klear_withdrawal_id FROM withdrawal_klear_answer WHERE attempt_id = $1', [
        context.attemptId,
      ])) as Array<{ klear_withdrawal_id: string }>;
      await w.api.db.dataSource.query('UPDATE withdrawal_request SET klear_withdrawal_id = $2 WHERE id = $1', [
        bystander,
        answer.klear_withdrawal_id,
      ]);
    },
  };
}

/** The approvers of the chaos world, the admin first (from $1,000,000 the policy needs an admin among two approvers). */
const approversOf = (w: WithdrawalWorld) => [w.people.adminApprover, w.api.tokens.approver, w.api.tokens.approver2, w.people.approver3];

/** A token of someone whose approval of the request's current round is in force. */
async function approverInForce(w: WithdrawalWorld, id: string): Promise<string> {
  const detail = await w.get(id);
  const approved = new Set(
    (detail.approvals as Array<{ round: number; decision: string; approver: { id: string } }>)
      .filter((a) => a.round === detail.approval_round && a.decision === 'approve')
      .map((a) => a.approver.id),
  );
  for (const token of approversOf(w)) {
    const me = await w.api.http().get('/me').set('Authorization', `Bearer ${token}`);
    if (approved.has(me.body.id)) return token;
  }
  throw new Error(`nobody's approval of withdrawal ${id} is in force`);
}

async function approveAtOnce(w: WithdrawalWorld, id: string, count: number): Promise<void> {
  const approvers = approversOf(w);
  const answers = await Promise.all(Array.from({ length: count }, (_, i) => w.approve(id, approvers[i % approvers.length])));
  // Late approvers get 409 once the request has moved on; nobody gets a 5xx.
  for (const a of answers)
    expect(
      a.status === 200 || (a.status === 409 && a.body.code === 'WITHDRAWAL_NOT_PENDING') ? 'ok' : `${a.status} ${JSON.stringify(a.body)}`,
    ).toBe('ok');
}

/** The first execution: the executor process killed at the plan's crash point, or in-process executors racing the approvals. */
async function firstExecution(
  w: WithdrawalWorld,
  id: string,
  plan: WithdrawalChaosPlan,
  script: string,
  others: { decoy?: string; bystander?: string },
): Promise<void> {
  if (plan.crash === 'none') {
    await w.simAdmin('PUT', '/faults', {
      rules: POST_FAULT_RULES[plan.postFault].map((rule) => ({
        ...rule,
        endpoint: WITHDRAWAL_POST_PATH,
        times: 1,
        retry_after_seconds: plan.retryAfterSeconds,
      })),
    });
    if (plan.lockLossAt === 'rate_limit_wait') {
      // The other request is older: the executor sends it first, Klear answers 429 with Retry-After.
      const decoy = others.decoy!;
      await approveAtOnce(w, id, plan.concurrentApprovals);
      const second: { run?: Promise<unknown> } = {};
      const first = await w.executor().runOnce({ hooks: lockLossInWaitHooks(w, id, second) });
      // Our POST did wait for the rate limiter, and the lock went then.
      expect(second.run).toBeDefined();
      await second.run;
      // Normally the wait outlasts the lock: the first executor, fenced, sends nothing and the second sends it
      // (abandoned, submitted). Only if the wait ended before the lock was gone did the first one send it.
      const attempts = ((await w.get(id)).attempts as Array<{ state: string }>).map((a) => a.state);
      expect(
        first.fenced !== null || attempts.length === 1 ? 'consistent' : `first executor not fenced, attempts ${attempts.join(',')}`,
      ).toBe('consistent');
      // Klear refused the other request's POST: a person must approve it again; it is cancelled instead.
      expect((await w.get(decoy)).state).toBe('pending_approval');
      expect((await w.cancel(decoy, w.api.tokens.operator)).status).toBe(200);
    } else if (plan.lockLossAt !== 'none') {
      // Approved first, so that the executor that loses its lock is the one that executes the request.
      await approveAtOnce(w, id, plan.concurrentApprovals);
      await w.executor().runOnce({ hooks: lockLossHooks(w, plan.lockLossAt, id) });
    } else if (plan.person === 'revoke' || plan.person === 'reject') {
      await approveAtOnce(w, id, plan.concurrentApprovals);
      await w.executor().runOnce({ hooks: decisionHooks(w, plan, id) });
    } else if (plan.person === 'klear_id_conflict') {
      await approveAtOnce(w, id, plan.concurrentApprovals);
      const bystander = others.bystander!;
      const summary = await w.executor().runOnce({ hooks: klearIdConflictHooks(w, id, bystander) });
      expect(summary).toMatchObject({ outcomeUnknown: 1, submitted: 0 });
      const flagged = await w.get(id);
      expect(flagged).toMatchObject({
        state: 'outcome_unknown',
        klear_withdrawal_id: null,
        needs_attention: true,
        attention: { reason: 'klear_id_conflict', details: { held_by: bystander } },
      });
      // Klear's answer is kept; the resolver confirms the id at Klear but will not take it from its holder.
      expect(flagged.klear_answers).toEqual([
        expect.objectContaining({ outcome: 'created', klear_withdrawal_id: flagged.attention.details.klear_withdrawal_id }),
      ]);
      expect(await w.executor().runOnce()).toMatchObject({ resolved: { submitted: 0, not_submitted: 0, still_unknown: 1 } });
      // A person finds the other request's id was a mistake and clears it; from then on the id is free.
      await w.api.db.dataSource.query('UPDATE withdrawal_request SET klear_withdrawal_id = NULL WHERE id = $1', [bystander]);
    } else {
      let approvalsAnswered = false;
      const approvals = approveAtOnce(w, id, plan.concurrentApprovals).finally(() => (approvalsAnswered = true));
      // Executors keep racing until every approval is answered, then run once more: the POST (and its fault) happens here.
      const executors = Array.from({ length: plan.racingExecutors }, async () => {
        do await w.executor().runOnce();
        while (!approvalsAnswered);
        await w.executor().runOnce();
      });
      await Promise.all([approvals, ...executors]);
    }
    const fired = (await w.simAdmin('GET', '/faults')).fired as unknown[];
    expect(fired).toHaveLength(plan.postFault === 'none' ? 0 : 1);
    return;
  }
  await approveAtOnce(w, id, plan.concurrentApprovals);
  expect((await w.get(id)).state).toBe('approved');
  if (plan.crash === 'during_post') {
    await w.simAdmin('PUT', '/faults', {
      rules: [{ kind: 'latency', endpoint: WITHDRAWAL_POST_PATH, latency_ms: plan.postLatencyMs, times: 1 }],
    });
    const crashed = await runExecutorDrill(w, {
      script,
      onLine: (line, kill) => {
        if (line === 'REACHED after_posting_record') setTimeout(kill, plan.killAfterMs);
      },
    });
    expect(crashed.signal).toBe('SIGKILL');
  } else {
    const crashed = await runExecutorDrill(w, { script, crashAt: plan.crash });
    expect(crashed.signal).toBe('SIGKILL');
    expect(crashed.lines.at(-1)).toBe(`REACHED ${plan.crash}`);
  }
  const early = ['lease_acquired', 'recovered', 'resolved'].includes(plan.crash);
  expect((await w.get(id)).state).toBe(early ? 'approved' : plan.crash === 'after_outcome_committed' ? 'submitted' : 'submitting');
}

/**
 * Two people settle an `outcome_unknown` request by hand from Klear's records, read once the grace period
 * is over (before it, a POST in flight may not show yet): "submitted with Klear id X" when Klear shows a
 * withdrawal of the amount, else "never arrived". Two others confirm at once while an executor runs,
 * whose resolver may settle the request at the same moment: exactly one of them takes effect.
 */
async function settleByHand(w: WithdrawalWorld, id: string): Promise<void> {
  await waitOutGrace(w, id, GRACE_SECONDS);
  const detail = await w.get(id);
  const amount = BigInt(detail.amount_centicents);
  const seen = w.simWithdrawals().filter((x) => x.amount === amount);
  expect(seen.length <= 1 ? 'ok' : `${seen.length} withdrawals of the amount at Klear`).toBe('ok');
  const body =
    seen.length === 1
      ? { conclusion: 'submitted', klear_withdrawal_id: seen[0].id, reason: 'chaos: in Klear history and status' }
      : { conclusion: 'not_submitted', reason: 'chaos: absent from Klear after the grace period' };
  const proposed = await w.api
    .http()
    .post(`/withdrawals/${id}/resolutions`)
    .set('Authorization', `Bearer ${w.api.tokens.approver}`)
    .send(body);
  expect({ status: proposed.status, state: proposed.body.state }).toEqual({ status: 201, state: 'pending' });
  const confirm = (token: string) =>
    w.api.http().post(`/withdrawals/${id}/resolutions/confirm`).set('Authorization', `Bearer ${token}`).send({});
  const [a, b] = await Promise.all([confirm(w.api.tokens.approver2), confirm(w.people.adminApprover), w.executor().runOnce()]);
  const answers = [a, b].map((r) => (r.status === 200 ? 200 : `${r.status} ${r.body.code}`));
  // One confirmation wins unless the resolver settled it first; the losers are told why, never a 5xx.
  const confirmed = answers.filter((x) => x === 200).length;
  const refusals = answers.filter((x) => x !== 200);
  expect(
    confirmed <= 1 &&
      refusals.every((x) =>
        ['409 WITHDRAWAL_NOT_OUTCOME_UNKNOWN', '409 WITHDRAWAL_NO_PENDING_RESOLUTION', '409 WITHDRAWAL_RESOLUTION_STALE'].includes(
          String(x),
        ),
      )
      ? 'ok'
      : `confirmations answered ${answers.join(', ')}`,
  ).toBe('ok');
  const after = await w.get(id);
  if (confirmed === 1) {
    // The people's conclusion took effect: submitted with the id, or a fresh approval round (never sent without it).
    expect(after.state).toBe(seen.length === 1 ? 'submitted' : 'pending_approval');
  }
  if (seen.length === 1 && after.state === 'submitted') expect(after.klear_withdrawal_id).toBe(seen[0].id);
  // Confirmed by people, or void because the resolver settled it first: never left pending on the request.
  const proposals = (await w.api.http().get(`/withdrawals/${id}/resolutions`).set('Authorization', `Bearer ${w.api.tokens.viewer}`)).body
    .data as Array<{ id: string; state: string }>;
  const ours = proposals.find((r) => r.id === proposed.body.id);
  expect({ state: ours?.state, pending: proposals.filter((r) => r.state === 'pending').length }).toEqual({
    state: confirmed === 1 ? 'confirmed' : 'void',
    pending: 0,
  });
}

/**
 * Restarted executors until the request is submitted; re-approves when asked to. The first round is
 * the restart after the crash: executor processes and in-process executors together; later rounds
 * (the scheduler's next ticks) race in-process executors only, which keeps a seed to a few seconds.
 */
async function recover(
  w: WithdrawalWorld,
  id: string,
  plan: WithdrawalChaosPlan,
  script: string,
): Promise<{ settledByHand: number; startedIn: string }> {
  await w.simAdmin('DELETE', '/faults');
  let settledByHand = 0;
  const startedIn = (await w.get(id)).state as string;
  for (let round = 0; round < 6; round++) {
    const state = (await w.get(id)).state as string;
    if (state === 'submitted') return { settledByHand, startedIn };
    if (state === 'rejected' && decisionWins(plan)) return { settledByHand, startedIn };
    if (state === 'pending_approval') await approveAtOnce(w, id, plan.concurrentApprovals);
    if (state === 'outcome_unknown' && plan.manualResolution) {
      await settleByHand(w, id);
      settledByHand += 1;
      continue;
    }
    if (state === 'outcome_unknown' && round > 0) await waitOutGrace(w, id, GRACE_SECONDS);
    const processes = round === 0 ? plan.recoveryProcesses : 0;
    const inProcess = round === 0 ? plan.recoveryInProcess : plan.recoveryProcesses + plan.recoveryInProcess;
    await Promise.all([
      ...Array.from({ length: processes }, () => runExecutorDrill(w, { script })),
      ...Array.from({ length: inProcess }, () => w.executor().runOnce()),
    ]);
  }
  return { settledByHand, startedIn };
}

/** One request (executor processes run `drillScript`, see buildPrivateExecutorDrill) through the plan's crash or fault and concurrency; then exactly one withdrawal at Klear, processed, audit chain intact. */
export async function runWithdrawalChaos(plan: WithdrawalChaosPlan, drillScript: string): Promise<void> {
  const w = await startWithdrawalWorld({
    sim: { seed: plan.simSeed },
    env: { WITHDRAWAL_OUTCOME_GRACE_SECONDS: String(GRACE_SECONDS), KLEAR_TIMEOUT_MS: String(KLEAR_TIMEOUT_MS) },
  });
  try {
    const probe = await w.request('900000000.00');
    const headroom = BigInt(probe.body.details.headroom_centicents);
    const amount = ((headroom * BigInt(plan.amountShareBp)) / 10_000n / 100n) * 100n;
    expect(amount > 0n).toBe(true);
    // For the scenario, an older approved request whose POST Klear answers 429 (sent before ours).
    const decoy = plan.lockLossAt === 'rate_limit_wait' ? await w.approvedRequest(DECOY_CENTICENTS) : undefined;
    // For a conflicting id: a request that will hold the id Klear gives ours.
    let bystander: string | undefined;
    if (plan.person === 'klear_id_conflict') {
      bystander = (await w.request('12.00')).body.id as string;
      expect((await w.cancel(bystander, w.api.tokens.operator)).status).toBe(200);
    }
    const created = await w.request(usd(amount));
    expect(created.status).toBe(201);
    const id = created.body.id as string;

    await firstExecution(w, id, plan, drillScript, { decoy, bystander });
    const { settledByHand, startedIn } = await recover(w, id, plan, drillScript);
    // Left outcome_unknown by the first execution (a racing executor's resolver may already have settled it
    // from Klear's records): people settled it, racing the resolver, when the plan says so.
    if (plan.manualResolution && startedIn === 'outcome_unknown') expect(settledByHand).toBeGreaterThanOrEqual(1);

    if (plan.person === 'reject' && decisionWins(plan)) {
      // Rejected before execution: nothing attempted, nothing at Klear.
      const rejected = await w.get(id);
      expect({ state: rejected.state, attempts: rejected.attempts.length }).toEqual({ state: 'rejected', attempts: 0 });
      expect((await w.simAdmin('GET', '/counters')).withdrawal_posts).toEqual([]);
      expect(await postRequestsReceived(w)).toBe(0);
      expect(w.simWithdrawals()).toEqual([]);
      return;
    }

    const detail = await w.get(id);
    expect(detail.state).toBe('submitted');
    // Klear's own counter of POSTs it handled: exactly one, and it created this request's withdrawal.
    const posts = (await w.simAdmin('GET', '/counters')).withdrawal_posts as Array<{ outcome: string; id?: string }>;
    expect(posts.map((p) => ({ outcome: p.outcome, id: p.id }))).toEqual([{ outcome: 'created', id: detail.klear_withdrawal_id }]);
    expect(w.simWithdrawals()).toEqual([{ id: detail.klear_withdrawal_id, amount }]);
    const attempts = (detail.attempts as Array<{ state: string }>).map((a) => a.state);
    const { min, max } = expectedAttempts(plan);
    expect(attempts.length >= min && attempts.length <= max ? 'ok' : `attempts ${attempts.join(',')}, expected ${min}-${max}`).toBe('ok');
    expect(attempts.at(-1)).toBe('submitted');
    expect(attempts.slice(0, -1).every((a) => a === 'not_submitted' || a === 'abandoned') ? 'ok' : `attempts ${attempts.join(',')}`).toBe(
      'ok',
    );
    // Each attempt knocked on Klear's door at most once; an abandoned one (never recorded as leaving) not at all.
    // (The other request of the scenario knocked once, answered 429.)
    const knocks = (await postRequestsReceived(w)) - (decoy ? 1 : 0);
    const mayKnock = attempts.filter((a) => a !== 'abandoned').length;
    expect(knocks >= 1 && knocks <= mayKnock ? 'ok' : `${knocks} POST requests for ${attempts.join(',')}`).toBe('ok');
    const inFlight = await w.app.get(WithdrawalRepository, { strict: false }).inFlightAtKlear();
    expect({ total: inFlight.totalCenticents.toString(), unknown: inFlight.unknownCount }).toEqual({
      total: (await w.simAdmin('GET', '/state')).locked_balance_centicents,
      unknown: 0,
    });

    await w.simAdmin('POST', '/clock/advance', { seconds: 60 });
    await w.tracking().pollOnce();
    await w.simAdmin('POST', '/clock/advance', { seconds: 400 });
    await w.tracking().pollOnce();
    expect((await w.get(id)).state).toBe('processed');
    const audit = await w.api.http().get('/audit?limit=1').set('Authorization', `Bearer ${w.api.tokens.viewer}`);
    expect(audit.body.chain).toMatchObject({ ok: true, problem: null });
  } finally {
    await w.close();
  }
}
