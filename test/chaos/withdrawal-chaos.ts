import { expect } from '@jest/globals';
import { EXECUTOR_STEPS, type ExecutorCrashPoint, type ExecutorHooks, WithdrawalRepository } from '@app/withdrawals';
import { postRequestsReceived, runExecutorDrill, waitOutGrace, WITHDRAWAL_POST_PATH } from '../withdrawals/executor-drill-process';
import { startWithdrawalWorld, usdOf as usd, type WithdrawalWorld } from '../withdrawals/withdrawal-world';
import { ChaosRandom } from './chaos-seeds';

/** Every step of the executor where a drill can be killed or an in-process executor can lose its lock (the rate-limit wait needs a 429 first: rate_limit_429). */
const STEPS = EXECUTOR_STEPS.filter((s): s is Exclude<ExecutorCrashPoint, 'rate_limit_wait'> => s !== 'rate_limit_wait');
/** Where the first executor dies (SIGKILL), if it does: every step of the drill, or while the POST is in flight. */
export const CRASH_POINTS = ['none', ...STEPS, 'during_post'] as const;
/** Where the first (in-process) executor loses its lock (its backend terminated) while a second one runs, when nothing crashes. */
export const LOCK_LOSS_POINTS = ['none', ...STEPS] as const;
/** A one-shot fault on the first POST when nothing crashes: before Klear acts, or after it created the withdrawal; or a 429 with a Retry-After. */
export const POST_FAULTS = ['none', 'status_503_before', 'status_503_after', 'timeout_after', 'connection_reset_after', 'rate_limit_429'] as const;

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
}

/** Above the longest a POST can take at Klear here (latency at most 1.2 s, client timeout 1.5 s). */
export const GRACE_SECONDS = 2;
const KLEAR_TIMEOUT_MS = 1500;

export function withdrawalChaosPlan(seed: number): WithdrawalChaosPlan {
  const r = new ChaosRandom(seed, 'withdrawals');
  const crash = r.pick(CRASH_POINTS);
  const postLatencyMs = r.int(500, 1200);
  return {
    simSeed: r.uint32(),
    amountShareBp: r.int(50, 5000),
    crash,
    postLatencyMs,
    killAfterMs: r.int(50, postLatencyMs - 150),
    postFault: crash === 'none' ? r.pick(POST_FAULTS) : 'none',
    lockLossAt: crash === 'none' ? r.pick(LOCK_LOSS_POINTS) : 'none',
    retryAfterSeconds: r.int(0, 2),
    concurrentApprovals: r.int(2, 24),
    racingExecutors: r.int(1, 3),
    recoveryProcesses: r.int(1, 3),
    recoveryInProcess: r.int(0, 2),
  };
}

/** How many attempts the request must end with, and how many POSTs must reach Klear's door, for a plan. */
export function expectedAttempts(plan: WithdrawalChaosPlan): { min: number; max: number } {
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


async function approveAtOnce(w: WithdrawalWorld, id: string, count: number): Promise<void> {
  // The admin first: from $1,000,000 the policy needs an admin among two approvers.
  const approvers = [w.people.adminApprover, w.api.tokens.approver, w.api.tokens.approver2, w.people.approver3];
  const answers = await Promise.all(Array.from({ length: count }, (_, i) => w.approve(id, approvers[i % approvers.length])));
  // Late approvers get 409 once the request has moved on; nobody gets a 5xx.
  for (const a of answers) expect(a.status === 200 || (a.status === 409 && a.body.code === 'WITHDRAWAL_NOT_PENDING') ? 'ok' : `${a.status} ${JSON.stringify(a.body)}`).toBe('ok');
}

/** The first execution: the executor process killed at the plan's crash point, or in-process executors racing the approvals. */
async function firstExecution(w: WithdrawalWorld, id: string, plan: WithdrawalChaosPlan, script: string): Promise<void> {
  if (plan.crash === 'none') {
    await w.simAdmin('PUT', '/faults', {
      rules: POST_FAULT_RULES[plan.postFault].map((rule) => ({ ...rule, endpoint: WITHDRAWAL_POST_PATH, times: 1, retry_after_seconds: plan.retryAfterSeconds })),
    });
    if (plan.lockLossAt !== 'none') {
      // Approved first, so that the executor that loses its lock is the one that executes the request.
      await approveAtOnce(w, id, plan.concurrentApprovals);
      await w.executor().runOnce({ hooks: lockLossHooks(w, plan.lockLossAt, id) });
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
    await w.simAdmin('PUT', '/faults', { rules: [{ kind: 'latency', endpoint: WITHDRAWAL_POST_PATH, latency_ms: plan.postLatencyMs, times: 1 }] });
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
 * Restarted executors until the request is submitted; re-approves when asked to. The first round is
 * the restart after the crash: executor processes and in-process executors together; later rounds
 * (the scheduler's next ticks) race in-process executors only, which keeps a seed to a few seconds.
 */
async function recover(w: WithdrawalWorld, id: string, plan: WithdrawalChaosPlan, script: string): Promise<void> {
  await w.simAdmin('DELETE', '/faults');
  for (let round = 0; round < 6; round++) {
    const state = (await w.get(id)).state as string;
    if (state === 'submitted') return;
    if (state === 'pending_approval') await approveAtOnce(w, id, plan.concurrentApprovals);
    if (state === 'outcome_unknown' && round > 0) await waitOutGrace(w, id, GRACE_SECONDS);
    const processes = round === 0 ? plan.recoveryProcesses : 0;
    const inProcess = round === 0 ? plan.recoveryInProcess : plan.recoveryProcesses + plan.recoveryInProcess;
    await Promise.all([
      ...Array.from({ length: processes }, () => runExecutorDrill(w, { script })),
      ...Array.from({ length: inProcess }, () => w.executor().runOnce()),
    ]);
  }
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
    const created = await w.request(usd(amount));
    expect(created.status).toBe(201);
    const id = created.body.id as string;

    await firstExecution(w, id, plan, drillScript);
    await recover(w, id, plan, drillScript);

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
    expect(attempts.slice(0, -1).every((a) => a === 'not_submitted' || a === 'abandoned') ? 'ok' : `attempts ${attempts.join(',')}`).toBe('ok');
    // Each attempt knocked on Klear's door at most once; an abandoned one (never recorded as leaving) not at all.
    const knocks = await postRequestsReceived(w);
    const mayKnock = attempts.filter((a) => a !== 'abandoned').length;
    expect(knocks >= 1 && knocks <= mayKnock ? 'ok' : `${knocks} POST requests for ${attempts.join(',')}`).toBe('ok');
    const inFlight = await w.app.get(WithdrawalRepository, { strict: false }).inFlightAtKlear();
    expect({ total: inFlight.totalCenticents.toString(), unknown: inFlight.unknownCount }).toEqual({ total: (await w.simAdmin('GET', '/state')).locked_balance_centicents, unknown: 0 });

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
