import { z } from 'zod';
import { envBool, envCenticents, envInt, envOptionalString, envUrl } from './env-schema';

/**
 * The one configuration object, built from environment variables at start-up.
 * Each variable is documented in `.env.example`; keep the two in step.
 */
const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production'], { error: 'expected development, test or production' }).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'expected a pino level' }).default('info'),
  LOG_PRETTY: envBool(false),

  DATABASE_URL: envOptionalString().pipe(z.union([z.undefined(), envUrl(['postgres', 'postgresql'])])),
  DATABASE_POOL_SIZE: envInt(10, 1, 200),
  EMBEDDED_PG_DATA_DIR: z.string().min(1).default('.data/pg'),
  EMBEDDED_PG_PORT: envInt(54329, 1024, 65535),

  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: envInt(3000, 0, 65535),
  API_BODY_LIMIT_MB: envInt(50, 1, 2048),

  SECRETS_KEY: envOptionalString().pipe(
    z.union([z.undefined(), z.string().regex(/^[0-9a-fA-F]{64}$/, 'expected 64 hex characters (a 256-bit AES key)')]),
  ),

  KLEAR_BASE_URL: envUrl(['http', 'https']).default('http://127.0.0.1:4010/klear-api/v1'),
  KLEAR_AUTH_MODE: z.enum(['bearer', 'session'], { error: 'expected bearer or session' }).default('bearer'),
  KLEAR_ADMIN_USER_ID: envOptionalString(),
  KLEAR_ACCESS_TOKEN: envOptionalString(),
  KLEAR_EMAIL: envOptionalString(),
  KLEAR_PASSWORD: envOptionalString(),
  KLEAR_MFA_CODE: envOptionalString(),
  KLEAR_TIER: z.enum(['basic', 'advanced', 'premier', 'prime'], { error: 'expected basic, advanced, premier or prime' }).default('basic'),
  KLEAR_TIMEOUT_MS: envInt(15000, 100, 600000),
  KLEAR_MAX_RETRIES: envInt(5, 0, 20),

  WORKER_JOBS_ENABLED: envBool(true),
  WORKER_BACKFILL_DAYS: envInt(30, 0, 3650),

  WITHDRAWAL_BALANCE_MAX_AGE_SECONDS: envInt(60, 0, 86400),
  WITHDRAWAL_WEBHOOK_URL: envOptionalString().pipe(z.union([z.undefined(), envUrl(['http', 'https'])])),
  WITHDRAWAL_DEFAULT_CAP_CENTICENTS: envCenticents(10_000_000_000_000n),

  EXPORTS_DIR: z.string().min(1).default('.data/exports'),
  REPORTS_DIR: z.string().min(1).default('.data/reports'),
});

export type ConfigInput = z.input<typeof schema>;
type Raw = z.output<typeof schema>;

export interface AppConfig {
  env: Raw['NODE_ENV'];
  log: { level: Raw['LOG_LEVEL']; pretty: boolean };
  database: { url: string | undefined; poolSize: number; embedded: { dataDir: string; port: number } };
  api: { host: string; port: number; bodyLimitMb: number };
  secretsKey: Buffer | undefined;
  klear: {
    baseUrl: string;
    authMode: Raw['KLEAR_AUTH_MODE'];
    adminUserId: string | undefined;
    accessToken: string | undefined;
    email: string | undefined;
    password: string | undefined;
    mfaCode: string | undefined;
    tier: Raw['KLEAR_TIER'];
    timeoutMs: number;
    maxRetries: number;
  };
  worker: { jobsEnabled: boolean; backfillDays: number };
  withdrawals: { balanceMaxAgeSeconds: number; webhookUrl: string | undefined; defaultCapCenticents: bigint };
  exports: { dir: string };
  reports: { dir: string };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Builds and validates the configuration; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '(environment)');
      // Never echo the received value: it may be a secret.
      return `${name}: ${issue.message}`;
    });
    throw new ConfigError(problems);
  }
  const c = parsed.data;
  const problems: string[] = [];
  if (c.KLEAR_AUTH_MODE === 'session' && (!c.KLEAR_EMAIL || !c.KLEAR_PASSWORD)) {
    problems.push('KLEAR_EMAIL, KLEAR_PASSWORD: required when KLEAR_AUTH_MODE=session');
  }
  if (c.NODE_ENV === 'production' && !c.SECRETS_KEY) {
    problems.push('SECRETS_KEY: required in production (64 hex characters)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    env: c.NODE_ENV,
    log: { level: c.LOG_LEVEL, pretty: c.LOG_PRETTY },
    database: {
      url: c.DATABASE_URL,
      poolSize: c.DATABASE_POOL_SIZE,
      embedded: { dataDir: c.EMBEDDED_PG_DATA_DIR, port: c.EMBEDDED_PG_PORT },
    },
    api: { host: c.API_HOST, port: c.API_PORT, bodyLimitMb: c.API_BODY_LIMIT_MB },
    secretsKey: c.SECRETS_KEY ? Buffer.from(c.SECRETS_KEY, 'hex') : undefined,
    klear: {
      baseUrl: c.KLEAR_BASE_URL.replace(/\/+$/, ''),
      authMode: c.KLEAR_AUTH_MODE,
      adminUserId: c.KLEAR_ADMIN_USER_ID,
      accessToken: c.KLEAR_ACCESS_TOKEN,
      email: c.KLEAR_EMAIL,
      password: c.KLEAR_PASSWORD,
      mfaCode: c.KLEAR_MFA_CODE,
      tier: c.KLEAR_TIER,
      timeoutMs: c.KLEAR_TIMEOUT_MS,
      maxRetries: c.KLEAR_MAX_RETRIES,
    },
    worker: { jobsEnabled: c.WORKER_JOBS_ENABLED, backfillDays: c.WORKER_BACKFILL_DAYS },
    withdrawals: {
      balanceMaxAgeSeconds: c.WITHDRAWAL_BALANCE_MAX_AGE_SECONDS,
      webhookUrl: c.WITHDRAWAL_WEBHOOK_URL,
      defaultCapCenticents: c.WITHDRAWAL_DEFAULT_CAP_CENTICENTS,
    },
    exports: { dir: c.EXPORTS_DIR },
    reports: { dir: c.REPORTS_DIR },
  };
}
