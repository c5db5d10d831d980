import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { UsersService } from '@app/auth';
import type { Clock } from '@app/clock';
import type { KlearClientOptions } from '@app/klear-client';
import { type AppConfig, loadConfig } from '@app/config';
import type { Role } from '@app/db';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { createApiApplication } from '@apps/api';

export interface ApiWorld {
  db: TestDatabase;
  app: INestApplication;
  config: AppConfig;
  http: () => ReturnType<typeof request>;
  /** One user per role, plus a second approver, each with a token. */
  tokens: Record<Role | 'approver2', string>;
  userIds: Record<Role | 'approver2', string>;
  newUser(name: string, roles: Role[]): Promise<{ id: string; token: string }>;
  close(): Promise<void>;
}

/**
 * Test configuration. Rate limits are lifted (every request of a test comes from 127.0.0.1 and one
 * user); test/security/hostile-clients.test.ts sets them low to prove them.
 */
export function testConfig(overrides: Record<string, string> = {}): AppConfig {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    KLEAR_BASE_URL: 'http://127.0.0.1:9/klear-api/v1',
    API_EXPENSIVE_ROUTE_LIMIT: '100000',
    API_AUTH_FAILURE_LIMIT: '100000',
    ...overrides,
  });
}

/**
 * A real API on a fresh database, with users for every role (factories, not fixtures). `clock` and
 * `klearClient` (a limiter clock, say) reach the application as in production wiring.
 */
export async function startApiWorld(
  env: Record<string, string> = {},
  options: { clock?: Clock; klearClient?: Partial<KlearClientOptions> } = {},
): Promise<ApiWorld> {
  const db = await createTestDatabase();
  const config = testConfig({ DATABASE_URL: db.url, ...env });
  const app = await createApiApplication(config, { silent: true, ...options });
  await app.init();
  const users = app.get(UsersService);
  const newUser = async (name: string, roles: Role[]) => {
    const user = await users.createUser(name, roles, 'test');
    const issued = await users.issueToken(user.id, 'test', 'test');
    return { id: user.id, token: issued.token };
  };
  const tokens = {} as ApiWorld['tokens'];
  const userIds = {} as ApiWorld['userIds'];
  for (const [key, roles] of [
    ['viewer', ['viewer']],
    ['operator', ['operator']],
    ['approver', ['approver']],
    ['approver2', ['approver']],
    ['admin', ['admin']],
  ] as const) {
    const u = await newUser(`test-${key}`, [...roles]);
    tokens[key] = u.token;
    userIds[key] = u.id;
  }
  return {
    db,
    app,
    config,
    http: () => request(app.getHttpServer()),
    tokens,
    userIds,
    newUser,
    close: async () => {
      await app.close();
      await db.drop();
    },
  };
}
