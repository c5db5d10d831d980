import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConsoleAuthService, Principal, UsersService } from '@app/auth';
import type { Role } from '@app/db';
import type { NotificationPreferencesService } from '@app/notifications';
import type { ApiCaller } from './api-caller';

export interface DemoUser {
  /** The demo's name for this person (the user's name, plus a generation suffix after a reset). */
  name: string;
  userName: string;
  roles: Role[];
  token: string;
  /** Console sign-in (demo only, printed on purpose). */
  password: string;
  totpSecret: string;
}

/** The demo's console password of a demo user: known, so that a newcomer can sign in. Never outside the demo. */
export const demoPassword = (name: string) => `${name}-password`;

/** Created in this order: the two admins by the CLI's bootstrap, the others through the API. */
export const DEMO_USERS: Array<{ name: string; roles: Role[] }> = [
  { name: 'demo-admin', roles: ['admin'] },
  { name: 'demo-admin-2', roles: ['admin'] },
  { name: 'demo-viewer', roles: ['viewer'] },
  { name: 'demo-operator', roles: ['operator'] },
  { name: 'demo-approver-1', roles: ['approver'] },
  { name: 'demo-approver-2', roles: ['approver', 'admin'] },
];

const DEMO_ACTOR: Principal = { userId: '00000000-0000-0000-0000-000000000000', name: 'demo', roles: [], tokenId: '' };

/**
 * The demo's people, made the way real people arrive (README, "Dual control"): the two admins from
 * the CLI's bootstrap (one-time invitations, redeemed through the API), the viewer and the operator
 * invited by an admin, the approvers proposed by one admin and approved by the other. Each person's
 * token is their own, so it cannot be re-issued on the next run: the tokens are kept (0600) in
 * `<data>/demo-users.json` and reused while they work. When they do not (file lost, tokens expired),
 * the earlier demo users are disabled and a new generation is made.
 */
export async function ensureDemoUsers(
  users: UsersService,
  consoleAuth: ConsoleAuthService,
  api: ApiCaller,
  dataRoot: string,
): Promise<DemoUser[]> {
  const people = await ensureDemoPeople(users, api, dataRoot);
  // Console credentials are set once (password `<name>-password`, a TOTP secret) and kept across runs.
  const out: DemoUser[] = [];
  for (const p of people) {
    const user = await users.findUserByName(p.userName);
    if (!user) throw new Error(`demo user ${p.userName} is gone`);
    if (!(await consoleAuth.hasSecondFactor(user.id))) await consoleAuth.setCredentials(user.id, demoPassword(p.userName), 'demo');
    const totpSecret = await consoleAuth.totpSecretOf(user.id);
    if (!totpSecret) throw new Error(`demo user ${p.userName} has no TOTP secret`);
    out.push({ ...p, password: demoPassword(p.userName), totpSecret });
  }
  return out;
}

type DemoPerson = Omit<DemoUser, 'password' | 'totpSecret'>;

async function ensureDemoPeople(users: UsersService, api: ApiCaller, dataRoot: string): Promise<DemoPerson[]> {
  const file = resolve(dataRoot, 'demo-users.json');
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as DemoPerson[];
    const alive = await Promise.all(saved.map(async (u) => (await api.call(u.token, 'GET', '/me')).status === 200));
    if (saved.length === DEMO_USERS.length && alive.every(Boolean)) return saved;
  }
  // Retire every earlier demo user (disabling is immediate and revokes their tokens).
  const existing = (await users.listUsers()).filter((u) => u.name.startsWith('demo-'));
  for (const u of existing.filter((x) => !x.disabledAt))
    await users.changeNow(u.id, { removeRoles: [], addRoles: [], disable: true }, DEMO_ACTOR);
  const generation = existing.length === 0 ? '' : `-g${Math.floor(existing.length / DEMO_USERS.length) + 1}`;
  const nameOf = (base: string) => `${base}${generation}`;

  const redeem = async (code: string) => {
    const res = await api.call<{ token: string }>('', 'POST', '/invitations/redeem', { code, label: 'demo' });
    if (res.status !== 201) throw new Error(`redeeming a demo invitation answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body.token;
  };
  const out: DemoPerson[] = [];
  const [first, second] = await users.bootstrapAdmins([nameOf('demo-admin'), nameOf('demo-admin-2')]);
  const adminToken = await redeem(first.invitation.code);
  const admin2Token = await redeem(second.invitation.code);
  out.push({ name: 'demo-admin', userName: first.user.name, roles: ['admin'], token: adminToken });
  out.push({ name: 'demo-admin-2', userName: second.user.name, roles: ['admin'], token: admin2Token });
  for (const spec of DEMO_USERS.slice(2)) {
    const created = await api.call<{ proposals: Array<{ id: string }>; invitation: { code: string } }>(adminToken, 'POST', '/users', {
      name: nameOf(spec.name),
      roles: spec.roles,
    });
    if (created.status !== 201 && created.status !== 202)
      throw new Error(`POST /users for ${spec.name} answered ${created.status}: ${JSON.stringify(created.body)}`);
    // Approver and admin: a proposal, approved by the second admin.
    for (const p of created.body.proposals) await api.expectOk(admin2Token, 'POST', `/admin-proposals/${p.id}/approve`, {});
    out.push({ name: spec.name, userName: nameOf(spec.name), roles: spec.roles, token: await redeem(created.body.invitation.code) });
  }
  writeFileSync(file, JSON.stringify(out, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
  return out;
}

/**
 * Each demo user's address in the demo mailbox: `<name>@klear-demo.test` (the demo's name, the same
 * in every generation), set on the user of this generation: after a reset the users are
 * `demo-approver-1-g2` and so on, and the retired ones (disabled) keep the bare names.
 */
export async function setDemoAddresses(
  preferences: NotificationPreferencesService,
  users: Array<Pick<DemoUser, 'name' | 'userName'>>,
): Promise<void> {
  for (const u of users) {
    const id = await preferences.userIdByName(u.userName);
    if (!id) throw new Error(`demo user ${u.userName} (${u.name}) not found among the enabled users`);
    await preferences.set(id, { email: `${u.name}@klear-demo.test` }, 'demo');
  }
}
