import { UsersService } from '@app/auth';
import type { Role } from '@app/db';

export interface DemoUser {
  name: string;
  roles: Role[];
  token: string;
}

export const DEMO_USERS: Array<{ name: string; roles: Role[] }> = [
  { name: 'demo-viewer', roles: ['viewer'] },
  { name: 'demo-operator', roles: ['operator'] },
  { name: 'demo-approver-1', roles: ['approver'] },
  { name: 'demo-approver-2', roles: ['approver', 'admin'] },
  { name: 'demo-admin', roles: ['admin'] },
];

/**
 * One user per role (two approvers, the second also admin so that the top policy tier can be met).
 * Tokens are stored hashed, so a new token is issued on every demo run; older ones stay valid.
 */
export async function ensureDemoUsers(users: UsersService): Promise<DemoUser[]> {
  const out: DemoUser[] = [];
  for (const spec of DEMO_USERS) {
    const user = (await users.findUserByName(spec.name)) ?? (await users.createUser(spec.name, spec.roles, 'demo'));
    const issued = await users.issueToken(user.id, `demo run ${new Date().toISOString()}`, 'demo');
    out.push({ name: spec.name, roles: user.roles, token: issued.token });
  }
  return out;
}
