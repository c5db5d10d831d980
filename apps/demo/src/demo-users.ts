import { ConsoleAuthService, UsersService } from '@app/auth';
import type { Role } from '@app/db';
import type { DataSource } from 'typeorm';

export interface DemoUser {
  name: string;
  roles: Role[];
  token: string;
  /** Console sign-in (demo only, printed on purpose). */
  password: string;
  totpSecret: string;
}

export const DEMO_USERS: Array<{ name: string; roles: Role[] }> = [
  { name: 'demo-viewer', roles: ['viewer'] },
  { name: 'demo-operator', roles: ['operator'] },
  { name: 'demo-approver-1', roles: ['approver'] },
  { name: 'demo-approver-2', roles: ['approver', 'admin'] },
  { name: 'demo-admin', roles: ['admin'] },
];

/** The demo's console password of a demo user: known, so that a newcomer can sign in. Never outside the demo. */
export const demoPassword = (name: string) => `${name}-password`;

/**
 * One user per role (two approvers, the second also admin so that the top policy tier can be met).
 * Tokens are stored hashed, so a new token is issued on every demo run; older ones stay valid. Console
 * credentials are set once (password `<name>-password`, a TOTP secret) and kept across runs.
 */
export async function ensureDemoUsers(users: UsersService, consoleAuth: ConsoleAuthService, dataSource: DataSource, issuedAt: string): Promise<DemoUser[]> {
  const out: DemoUser[] = [];
  for (const spec of DEMO_USERS) {
    const user = (await users.findUserByName(spec.name)) ?? (await users.createUser(spec.name, spec.roles, 'demo'));
    const issued = await users.issueToken(user.id, `demo run ${issuedAt}`, 'demo');
    if (!(await consoleAuth.hasSecondFactor(user.id))) await consoleAuth.setCredentials(user.id, demoPassword(spec.name), 'demo');
    const [row] = (await dataSource.query(`SELECT totp_secret FROM console_credential WHERE user_id = $1`, [user.id])) as Array<{ totp_secret: string }>;
    out.push({ name: spec.name, roles: user.roles, token: issued.token, password: demoPassword(spec.name), totpSecret: row.totp_secret });
  }
  return out;
}
