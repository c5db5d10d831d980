import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { until } from '../support/poll';
import { startWithdrawalWorld, type WithdrawalWorld } from './withdrawal-world';

// Black-box reproductions of the lost-lock and resolver defects (issue 13), written only against what the code before the fix already
// offered (executor.runOnce(), the poller, simulator faults and admin path, the database), so that they
// run unchanged before and after it. Before the fix all three failed (two Klear withdrawals for R2; the
// same-amount portal withdrawal claimed; submitted with a null Klear id). The deterministic versions,
// with barriers instead of waits, are in exactly-once-interleavings.test.ts; these wait out a real
// grace period of 2 s.
const POST_PATH = '/margin/withdraw_settlement_balance';
const STATUS_PATH = '/margin/settlement_balance_withdrawal';
const GRACE_SECONDS = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let w: WithdrawalWorld;
beforeAll(async () => {
  w = await startWithdrawalWorld({ env: { WITHDRAWAL_OUTCOME_GRACE_SECONDS: String(GRACE_SECONDS), KLEAR_TIMEOUT_MS: '1500' } });
}, 120_000);
afterAll(async () => w?.close());

async function approved(usd: string): Promise<string> {
  const res = await w.request(usd);
  await w.approve(res.body.id, w.api.tokens.approver);
  expect((await w.get(res.body.id)).state).toBe('approved');
  return res.body.id;
}

it('a 429 with Retry-After, the lock lost during the wait, a second executor: R2 reaches Klear once', async () => {
  const ds = w.api.db.dataSource;
  await approved('1111.00');
  const r2 = await approved('2222.00');
  await w.simAdmin('PUT', '/faults', {
    rules: [{ kind: 'rate_limit_burst', endpoint: POST_PATH, phase: 'before', times: 1, retry_after_seconds: 8 }],
  });
  const runA = w.executor().runOnce();
  // A is waiting for the Retry-After with R2 in submitting.
  await until(
    'R2 submitting',
    async () => (await w.get(r2)).state,
    (s) => s === 'submitting',
    120_000,
    25,
  );
  expect((await w.get(r2)).state).toBe('submitting');
  const [lock] = (await ds.query(
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid::bigint = 1801676134 AND granted`,
  )) as Array<{ pid: number }>;
  await ds.query('SELECT pg_terminate_backend($1)', [lock.pid]);
  await until(
    'the lock backend gone',
    async () => ((await ds.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [lock.pid])) as unknown[]).length,
    (n) => n === 0,
    120_000,
    25,
  );
  // Second executor(s) until R2 is submitted, re-approving when asked, waiting out the grace period when unknown.
  for (let round = 0; round < 8 && (await w.get(r2)).state !== 'submitted'; round++) {
    const state = (await w.get(r2)).state;
    if (state === 'pending_approval') await w.approve(r2, w.api.tokens.approver2);
    if (state === 'outcome_unknown') await sleep(GRACE_SECONDS * 1000 + 300);
    await w.executor().runOnce();
  }
  await runA.catch(() => undefined);
  await sleep(500);
  const atKlear = w.simWithdrawals().filter((x) => x.amount === 22_220_000n);
  expect(atKlear).toHaveLength(1);
}, 120_000);

it('a portal withdrawal of the same amount beside ours is not claimed: the request stays outcome_unknown for a person', async () => {
  const id = await approved('3333.00');
  await w.simAdmin('PUT', '/faults', { rules: [{ kind: 'status', endpoint: POST_PATH, status: 503, phase: 'after', times: 1 }] });
  await w.executor().runOnce();
  await w.simAdmin('DELETE', '/faults');
  await w.simAdmin('POST', '/withdrawals', { amount_centicents: '33330000' });
  await sleep(GRACE_SECONDS * 1000 + 300);
  await w.executor().runOnce();
  expect((await w.get(id)).state).toBe('outcome_unknown');
}, 60_000);

it('an unknown outcome resolved while the status endpoint fails never ends submitted without its Klear id', async () => {
  const id = await approved('4444.00');
  await w.simAdmin('PUT', '/faults', {
    rules: [
      { kind: 'status', endpoint: POST_PATH, status: 503, phase: 'after', times: 1 },
      { kind: 'status', endpoint: STATUS_PATH, status: 503 },
    ],
  });
  await w.executor().runOnce();
  await w.executor().runOnce();
  await w.simAdmin('DELETE', '/faults');
  await w.tracking().pollOnce();
  await w.executor().runOnce();
  await w.tracking().pollOnce();
  const detail = await w.get(id);
  // Either still unknown (Klear's circuit may still be open) or submitted with its id: never submitted with none.
  expect({ state: detail.state, id: detail.state === 'submitted' ? detail.klear_withdrawal_id : 'n/a' }).not.toEqual({
    state: 'submitted',
    id: null,
  });
}, 60_000);
