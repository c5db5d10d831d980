import type { INestApplication } from '@nestjs/common';
import { until } from '../support/poll';
import { type Role } from '@app/db';
import { WithdrawalExecutor, WithdrawalExpiry, WithdrawalTracking } from '@app/withdrawals';
import type { Test } from 'supertest';
import { ADMIN_TOKEN_HEADER, type RunningKlearSimulator, type SimulatorOptions, startKlearSimulator } from '@apps/klear-sim';
import { type ApiWorld, startApiWorld } from '../support/api-world';

/** The real API on a fresh database, talking over HTTP to an in-process Klear simulator. */
export interface WithdrawalWorld {
  api: ApiWorld;
  sim: RunningKlearSimulator;
  /** Extra people: a second operator, an approver who is also an admin, a third approver. */
  people: { operator2: string; adminApprover: string; approver3: string };
  env: Record<string, string>;
  app: INestApplication;
  request(amount: unknown, options?: { key?: string; token?: string; purpose?: unknown }): Test;
  approve(id: string, token: string): Test;
  reject(id: string, token: string, reason?: unknown): Test;
  cancel(id: string, token: string): Test;
  get(id: string): Promise<Record<string, any>>;
  executor(): WithdrawalExecutor;
  tracking(): WithdrawalTracking;
  expiry(): WithdrawalExpiry;
  simAdmin(method: string, path: string, body?: unknown): Promise<any>;
  /** POSTs to /margin/withdraw_settlement_balance the simulator received (all outcomes). */
  postCount(): Promise<number>;
  /** Withdrawals the simulator holds (created). */
  simWithdrawals(): Array<{ id: string; amount: bigint }>;
  /** A request of this amount, approved by one approver (below the two-approver tier); throws when it is not approved. */
  approvedRequest(amount: bigint): Promise<string>;
  /** POSTs Klear handled (its handler ran) for this amount. */
  klearPostsFor(amount: bigint): Promise<number>;
  /** What a PostgreSQL restart or a network blip does to a connection (an executor's lock): its backend is terminated; waits until it is gone. */
  terminateBackend(pid: number): Promise<void>;
  close(): Promise<void>;
}

let keySeq = 0;
export const newKey = (label = 'k') => `${label}-${process.pid}-${Date.now()}-${++keySeq}`;

export async function startWithdrawalWorld(
  options: { sim?: Partial<SimulatorOptions>; env?: Record<string, string>; app?: Parameters<typeof startApiWorld>[1] } = {},
): Promise<WithdrawalWorld> {
  const sim = await startKlearSimulator({ port: 0, rateLimit: false, withdrawalFailureRate: 0, ...options.sim });
  const env = {
    KLEAR_BASE_URL: sim.url,
    KLEAR_ADMIN_USER_ID: sim.options.adminUserId,
    KLEAR_ACCESS_TOKEN: sim.options.accessToken,
    // A timeout that must not fire is generous: the simulator answers in the test's own process, so a
    // busy machine delays its answers and this process's timers alike. A test that wants a timeout
    // (a 'timeout' fault) waits this long once; one that needs it shorter says so itself.
    KLEAR_TIMEOUT_MS: '15000',
    KLEAR_TIER: 'prime',
    ...options.env,
  };
  const api = await startApiWorld(env, options.app);
  const mk = async (name: string, roles: Role[]) => (await api.newUser(`${name}-${keySeq++}`, roles)).token;
  const people = {
    operator2: await mk('operator2', ['operator']),
    adminApprover: await mk('admin-approver', ['approver', 'admin']),
    approver3: await mk('approver3', ['approver']),
  };
  const http = () => api.http();
  const auth = (t: Test, token: string) => t.set('Authorization', `Bearer ${token}`);
  const world: WithdrawalWorld = {
    api,
    sim,
    people,
    env: { ...env, DATABASE_URL: api.db.url },
    app: api.app,
    request: (amount, o = {}) => {
      const t = auth(http().post('/withdrawals'), o.token ?? api.tokens.operator);
      if (o.key !== '') t.set('Idempotency-Key', o.key ?? newKey());
      return t.send({ amount, purpose: o.purpose ?? 'sweep to operating account' });
    },
    approve: (id, token) => auth(http().post(`/withdrawals/${id}/approve`), token).send({}),
    reject: (id, token, reason = 'not in the treasury plan') => auth(http().post(`/withdrawals/${id}/reject`), token).send({ reason }),
    cancel: (id, token) => auth(http().post(`/withdrawals/${id}/cancel`), token).send({}),
    get: async (id) => (await auth(http().get(`/withdrawals/${id}`), api.tokens.viewer)).body,
    executor: () => api.app.get(WithdrawalExecutor, { strict: false }),
    tracking: () => api.app.get(WithdrawalTracking, { strict: false }),
    expiry: () => api.app.get(WithdrawalExpiry, { strict: false }),
    simAdmin: async (method, path, body) => {
      const response = await fetch(`${sim.adminUrl}${path}`, {
        method,
        headers: { [ADMIN_TOKEN_HEADER]: sim.options.adminToken, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return response.json();
    },
    postCount: async () => Number((await world.simAdmin('GET', '/counters')).withdrawal_post_count),
    simWithdrawals: () => sim.context.state.withdrawals.map((w) => ({ id: w.id, amount: w.amount })),
    approvedRequest: async (amount) => {
      const res = await world.request(usdOf(amount));
      if (res.status !== 201) throw new Error(`request not created: ${res.status} ${JSON.stringify(res.body)}`);
      await world.approve(res.body.id, api.tokens.approver);
      const state = (await world.get(res.body.id)).state;
      if (state !== 'approved') throw new Error(`request ${res.body.id} is ${state}, not approved`);
      return res.body.id as string;
    },
    klearPostsFor: async (amount) =>
      ((await world.simAdmin('GET', '/counters')).withdrawal_posts as Array<{ amount: string }>).filter((p) => p.amount === usdOf(amount))
        .length,
    terminateBackend: async (pid) => {
      const ds = api.db.dataSource;
      await ds.query('SELECT pg_terminate_backend($1)', [pid]);
      await until(
        `backend ${pid} gone`,
        async () => ((await ds.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])) as unknown[]).length,
        (n) => n === 0,
        120_000,
        25,
      );
    },
    close: async () => {
      await api.close();
      await sim.close();
    },
  };
  return world;
}

/** Sets the policy through the API: proposed by the admin, approved by a second admin; returns the version in force. */
export async function putPolicy(world: WithdrawalWorld, policy: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await world.api.http().put('/withdrawal-policy').set('Authorization', `Bearer ${world.api.tokens.admin}`).send(policy);
  if (res.status !== 202) throw new Error(`policy not proposed: ${res.status} ${JSON.stringify(res.body)}`);
  const approved = await world.api
    .http()
    .post(`/admin-proposals/${res.body.id}/approve`)
    .set('Authorization', `Bearer ${world.people.adminApprover}`)
    .send({});
  if (approved.status !== 200) throw new Error(`policy proposal not approved: ${approved.status} ${JSON.stringify(approved.body)}`);
  return (await world.api.http().get('/withdrawal-policy').set('Authorization', `Bearer ${world.api.tokens.viewer}`)).body;
}

export const USD = 10_000n;

/** Centicents (whole cents) as the USD string the API and Klear take: 12345600n -> "1234.56". */
export const usdOf = (centicents: bigint) => `${centicents / 10_000n}.${((centicents % 10_000n) / 100n).toString().padStart(2, '0')}`;
