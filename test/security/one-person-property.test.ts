import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { UsersService } from '@app/auth';
import type { Test } from 'supertest';
import { startWithdrawalWorld, type WithdrawalWorld } from '../withdrawals/withdrawal-world';

/**
 * Issue #13's property: from a world with 2 admins, 3 approvers and 2 operators, any sequence of API
 * calls made with ONE person's credentials (and every credential those calls obtain: tokens made,
 * service tokens minted, invitations redeemed) never gets a withdrawal sent to Klear (the simulator's
 * POST counter) nor changes the withdrawal policy. Each person of the world is the attacker in turn,
 * the approver who is also an admin included; their state accumulates across runs (still one person).
 */
const SEED = Number(process.env.ONE_PERSON_SEED ?? 20261202);
const RUNS = Number(process.env.ONE_PERSON_RUNS ?? 15);

type Cmd =
  | { op: 'create_user'; roles: string[]; kind: 'person' | 'service'; t: number }
  | { op: 'patch_user'; u: number; roles: string[] | null; disabled: boolean | null; t: number }
  | { op: 'approve_proposal' | 'reject_proposal'; p: number; t: number }
  | { op: 'redeem'; c: number }
  | { op: 'reinvite' | 'mint_token'; u: number; t: number }
  | { op: 'me_token'; t: number }
  | { op: 'propose_policy'; approvals: number; t: number }
  | { op: 'request'; amount: string; t: number }
  | { op: 'approve' | 'reject' | 'revoke' | 'cancel'; w: number; t: number }
  | { op: 'propose_resolution'; w: number; submitted: boolean; t: number }
  | { op: 'confirm_resolution'; w: number; t: number }
  | { op: 'run_executor' };

const idx = fc.nat({ max: 1000 });
const roleSet = fc.subarray(['viewer', 'operator', 'approver', 'admin'], { minLength: 1 });
// Weighted toward what an attack needs: people and scripts made, their credentials obtained, requests
// made and approved with whichever credential the attacker holds, the executor run.
const someRoles: fc.Arbitrary<string[]> = fc.oneof(fc.constant<string[]>(['operator']), fc.constant<string[]>(['approver']), roleSet);
const command: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('create_user' as const),
      roles: someRoles,
      kind: fc.constantFrom('person' as const, 'service' as const),
      t: idx,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('patch_user' as const),
      u: idx,
      roles: fc.option(fc.subarray(['viewer', 'operator', 'approver', 'admin'])),
      disabled: fc.option(fc.boolean()),
      t: idx,
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('approve_proposal' as const, 'reject_proposal' as const), p: idx, t: idx }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('redeem' as const), c: idx }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('reinvite' as const, 'mint_token' as const), u: idx, t: idx }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('me_token' as const), t: idx }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('propose_policy' as const), approvals: fc.integer({ min: 1, max: 3 }), t: idx }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('request' as const),
      amount: fc.constantFrom('10.00', '10.00', '99999.99', '150000.00', '1500000.00'),
      t: idx,
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constantFrom(
        'approve' as const,
        'approve' as const,
        'approve' as const,
        'reject' as const,
        'revoke' as const,
        'cancel' as const,
      ),
      w: idx,
      t: idx,
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('propose_resolution' as const), w: idx, submitted: fc.boolean(), t: idx }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('confirm_resolution' as const), w: idx, t: idx }) },
  { weight: 1, arbitrary: fc.constant({ op: 'run_executor' as const }) },
);

let w: WithdrawalWorld;
let people: Record<string, string>;
let allUserIds: string[];
beforeAll(async () => {
  w = await startWithdrawalWorld();
  // The world: admins test-admin and admin-approver; approvers test-approver, approver3 and
  // admin-approver; operators test-operator and operator2; a viewer. The fixture's second approver retires.
  const users = w.app.get(UsersService);
  await users.changeNow(
    w.api.userIds.approver2,
    { removeRoles: [], addRoles: [], disable: true },
    { userId: w.api.userIds.admin, name: 'setup', roles: ['admin'], tokenId: '' },
  );
  people = {
    admin: w.api.tokens.admin,
    adminApprover: w.people.adminApprover,
    approver: w.api.tokens.approver,
    approver3: w.people.approver3,
    operator: w.api.tokens.operator,
    operator2: w.people.operator2,
    viewer: w.api.tokens.viewer,
  };
  allUserIds = ((await w.api.db.dataSource.query('SELECT id FROM app_user ORDER BY name')) as Array<{ id: string }>).map((r) => r.id);
});
afterAll(async () => w?.close());

const pick = <T>(list: T[], i: number): T | undefined => (list.length === 0 ? undefined : list[i % list.length]);

async function invariants(): Promise<{ posts: number; policyVersion: number; applied: number; moving: number }> {
  const [row] = (await w.api.db.dataSource.query(
    `SELECT (SELECT coalesce(max(version), 0)::int FROM withdrawal_policy) AS policy_version,
            (SELECT count(*)::int FROM admin_proposal WHERE state = 'applied') AS applied,
            (SELECT count(*)::int FROM withdrawal_request WHERE state IN ('approved','submitting','submitted','processing','processed','outcome_unknown')) AS moving`,
  )) as Array<{ policy_version: number; applied: number; moving: number }>;
  return { posts: await w.postCount(), policyVersion: row.policy_version, applied: row.applied, moving: row.moving };
}

describe('one person alone, whatever they call', () => {
  for (const attacker of ['admin', 'adminApprover', 'approver', 'approver3', 'operator', 'operator2', 'viewer']) {
    it(`${attacker}: never gets a withdrawal sent to Klear nor changes the policy`, async () => {
      // The policy in force is read once, so that its version exists before the attack.
      await w.api.http().get('/withdrawal-policy').set('Authorization', `Bearer ${people.viewer}`);
      const before = await invariants();
      const tokens = [people[attacker]];
      const rolesOf = new Map<string, string[]>();
      const learn = async (token: string) =>
        rolesOf.set(token, (await w.api.http().get('/me').set('Authorization', `Bearer ${token}`)).body.roles ?? []);
      await learn(people[attacker]);
      const gain = async (token: string | undefined) => {
        if (!token) return;
        tokens.push(token);
        await learn(token);
      };
      const userIds = [...allUserIds];
      const self = (await w.api.http().get('/me').set('Authorization', `Bearer ${people[attacker]}`)).body.id as string;
      const proposals: string[] = [];
      const codes: string[] = [];
      const withdrawals: string[] = [];
      const statuses: Record<string, number> = {};
      let seq = 0;
      // The attacker knows which of their credentials holds which role, and uses a fitting one when they have it.
      const ROLE_OF: Partial<Record<Cmd['op'], string>> = {
        create_user: 'admin',
        patch_user: 'admin',
        approve_proposal: 'admin',
        reject_proposal: 'admin',
        reinvite: 'admin',
        mint_token: 'admin',
        propose_policy: 'admin',
        request: 'operator',
        cancel: 'operator',
        approve: 'approver',
        reject: 'approver',
        revoke: 'approver',
        propose_resolution: 'approver',
        confirm_resolution: 'approver',
      };
      let current: Cmd['op'] = 'run_executor';
      const as = (t: Test, i: number) => {
        const role = ROLE_OF[current];
        const fitting = tokens.filter((tok) => role && (rolesOf.get(tok) ?? []).includes(role));
        return t.set('Authorization', `Bearer ${pick(fitting.length > 0 && i % 4 !== 0 ? fitting : tokens, i)}`);
      };
      const http = () => w.api.http();

      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 30 }), async (cmds) => {
          for (const c of cmds) {
            current = c.op;
            let res: { status: number; body: any } | undefined;
            switch (c.op) {
              case 'create_user':
                res = await as(http().post('/users'), c.t).send({ name: `${attacker}-made-${++seq}`, roles: c.roles, kind: c.kind });
                if (res.body?.id) userIds.push(res.body.id);
                if (res.body?.invitation?.code) codes.push(res.body.invitation.code);
                for (const p of res.body?.proposals ?? []) proposals.push(p.id);
                break;
              case 'patch_user': {
                const body: Record<string, unknown> = {};
                if (c.roles) body.roles = c.roles;
                if (c.disabled !== null) body.disabled = c.disabled;
                // Demoting or disabling oneself only ends the attack: the attacker changes others.
                res = await as(
                  http().patch(
                    `/users/${pick(
                      userIds.filter((id) => id !== self),
                      c.u,
                    )}`,
                  ),
                  c.t,
                ).send(body);
                for (const p of res.body?.proposals ?? []) proposals.push(p.id);
                break;
              }
              case 'approve_proposal':
              case 'reject_proposal': {
                const p = pick(proposals, c.p);
                if (!p) continue;
                res = await as(http().post(`/admin-proposals/${p}/${c.op === 'approve_proposal' ? 'approve' : 'reject'}`), c.t).send(
                  c.op === 'reject_proposal' ? { reason: 'x' } : {},
                );
                break;
              }
              case 'redeem': {
                const code = pick(codes, c.c);
                if (!code) continue;
                res = await http().post('/invitations/redeem').send({ code, label: 'mine' });
                if (res.status === 201) await gain(res.body.token);
                break;
              }
              case 'reinvite':
                res = await as(http().post(`/users/${pick(userIds, c.u)}/invitations`), c.t).send({});
                if (res.status === 201) codes.push(res.body.code);
                break;
              case 'mint_token':
                res = await as(http().post(`/users/${pick(userIds, c.u)}/tokens`), c.t).send({ label: 'minted' });
                if (res.status === 201) await gain(res.body.token);
                break;
              case 'me_token':
                res = await as(http().post('/me/tokens'), c.t).send({ label: 'more' });
                if (res.status === 201) await gain(res.body.token);
                break;
              case 'propose_policy':
                res = await as(http().put('/withdrawal-policy'), c.t).send({
                  tiers: [{ min_amount_centicents: '0', approvals_required: c.approvals, roles_required: [] }],
                  expiry_seconds: 86400,
                  reserve_floor_centicents: '0',
                  cap_centicents: '900000000000000000',
                });
                if (res.body?.id) proposals.push(res.body.id);
                break;
              case 'request':
                res = await as(http().post('/withdrawals'), c.t)
                  .set('Idempotency-Key', `${attacker}-${++seq}`)
                  .send({ amount: c.amount, purpose: 'attack' });
                if (res.body?.id) withdrawals.push(res.body.id);
                break;
              case 'approve':
              case 'reject':
              case 'revoke':
              case 'cancel': {
                const id = pick(withdrawals, c.w);
                if (!id) continue;
                const path = c.op === 'revoke' ? 'revoke-approval' : c.op;
                res = await as(http().post(`/withdrawals/${id}/${path}`), c.t).send(c.op === 'reject' ? { reason: 'x' } : {});
                break;
              }
              case 'propose_resolution': {
                const id = pick(withdrawals, c.w);
                if (!id) continue;
                res = await as(http().post(`/withdrawals/${id}/resolutions`), c.t).send(
                  c.submitted
                    ? { conclusion: 'submitted', klear_withdrawal_id: `wd-${seq}`, reason: 'seen at Klear' }
                    : { conclusion: 'not_submitted', reason: 'not at Klear' },
                );
                break;
              }
              case 'confirm_resolution': {
                const id = pick(withdrawals, c.w);
                if (!id) continue;
                res = await as(http().post(`/withdrawals/${id}/resolutions/confirm`), c.t).send({});
                break;
              }
              case 'run_executor':
                await w.executor().runOnce();
                break;
            }
            if (res) {
              statuses[res.status] = (statuses[res.status] ?? 0) + 1;
              if (process.env.ONE_PERSON_DEBUG) process.stderr.write(`${c.op} ${res.status} ${res.body?.code ?? ''}\n`);
              expect({ op: c.op, serverError: res.status >= 500, body: res.status >= 500 ? res.body : null }).toEqual({
                op: c.op,
                serverError: false,
                body: null,
              });
            }
          }
          await w.executor().runOnce();
          const after = await invariants();
          expect({ attacker, ...after }).toEqual({ attacker, ...before });
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
      // The attack did exercise the API: calls were answered, some of them accepted.
      expect(Object.values(statuses).reduce((a, b) => a + b, 0)).toBeGreaterThan(RUNS);
    }, 300_000);
  }
});
