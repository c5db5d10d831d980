import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { createApiApplication } from '@apps/api';
import { testConfig } from '../support/api-world';
import { clockEnvironment } from '../support/child-env';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The first two admins come from the CLI, as invitations; the API has no way to make an admin without a second one. */
describe('admins:bootstrap', () => {
  let fresh: TestDatabase;
  let app: INestApplication;
  const cli = (args: string[]) =>
    spawnSync(process.execPath, ['dist/apps/cli/src/main.js', ...args], {
      cwd: ROOT,
      env: { ...clockEnvironment(), PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: fresh.url },
      encoding: 'utf8',
      timeout: 60_000,
    });

  beforeAll(async () => {
    fresh = await createTestDatabase();
    app = await createApiApplication(testConfig({ DATABASE_URL: fresh.url }), { silent: true });
    await app.init();
  }, 180_000);
  afterAll(async () => {
    await app?.close();
    await fresh?.drop();
  });

  it('creates two admins with one-time invitations, refuses a third, and the two admins then need each other', async () => {
    const privileged = cli(['users:create', '--name', 'root', '--roles', 'admin']);
    expect(privileged.status).not.toBe(0);
    expect(privileged.stderr).toMatch(/never holds approver or admin/);

    const boot = cli(['admins:bootstrap', '--names', 'ada,grace']);
    expect(boot.status).toBe(0);
    const codes = boot.stdout.split('\n').filter((l) => /^ksi_/.test(l));
    expect(codes).toHaveLength(2);
    expect(boot.stdout).not.toMatch(/kso_/);
    const third = cli(['admins:bootstrap', '--names', 'mallory']);
    expect(third.status).not.toBe(0);
    expect(third.stderr).toMatch(/only creates admins up to two/);

    const http = () => request(app.getHttpServer());
    const [ada, grace] = await Promise.all(
      codes.map(async (code) => (await http().post('/invitations/redeem').send({ code, label: 'laptop' })).body),
    );
    expect([ada.user.name, grace.user.name].sort()).toEqual(['ada', 'grace']);
    expect(ada.invitation.issued_by).toBe('cli');
    // Ada alone cannot make an approver; Grace approving makes it so.
    const approver = await http()
      .post('/users')
      .set('Authorization', `Bearer ${ada.token}`)
      .send({ name: 'alan', roles: ['approver'] });
    expect(approver.status).toBe(202);
    expect(
      (await http().post(`/admin-proposals/${approver.body.proposals[0].id}/approve`).set('Authorization', `Bearer ${ada.token}`).send({}))
        .status,
    ).toBe(403);
    const approved = await http()
      .post(`/admin-proposals/${approver.body.proposals[0].id}/approve`)
      .set('Authorization', `Bearer ${grace.token}`)
      .send({});
    expect(approved.status).toBe(200);
    const alan = await http().post('/invitations/redeem').send({ code: approver.body.invitation.code, label: 'laptop' });
    expect(alan.body.user).toMatchObject({ name: 'alan', roles: ['approver'] });
  }, 300_000); // three CLI processes: a deadline that catches a hang, not a speed target
});
