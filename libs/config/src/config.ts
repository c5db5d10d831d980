import { z } from 'zod';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envBool, envCenticents, envHostList, envInt, envOptionalString, envUrl } from './env-schema';

/**
 * The one configuration object, built from environment variables at start-up.
 * Each variable is documented in `.env.example`; keep the two in step.
 */
const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production'], { error: 'expected development, test or production' }).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'expected a pino level' }).default('info'),
  LOG_PRETTY: envBool(false),

  DATABASE_URL: envOptionalString().pipe(z.union([z.undefined(), envUrl(['postgres', 'postgresql'])])),
  DATABASE_MIGRATION_URL: envOptionalString().pipe(z.union([z.undefined(), envUrl(['postgres', 'postgresql'])])),
  DATABASE_MIGRATE_ON_START: envBool(true),
  DATABASE_POOL_SIZE: envInt(10, 1, 200),
  EMBEDDED_PG_DATA_DIR: z.string().min(1).default('.data/pg'),
  EMBEDDED_PG_PORT: envInt(54329, 1024, 65535),

  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: envInt(3000, 0, 65535),
  API_BODY_LIMIT_MB: envInt(50, 1, 2048),
  API_DEFAULT_BODY_LIMIT_KB: envInt(256, 1, 1024 * 1024),
  API_TRUST_PROXY: z
    .string()
    .regex(
      /^(false|true|\d{1,2}|[0-9a-fA-F.:/,\s]+|loopback|linklocal|uniquelocal)$/,
      'expected false, true, a hop count, or comma-separated proxy addresses/subnets',
    )
    .default('false'),
  API_DOCS_ENABLED: envOptionalString().pipe(
    z.union([z.undefined(), z.enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })]),
  ),
  API_AUTH_FAILURE_LIMIT: envInt(10, 1, 1_000_000_000),
  API_AUTH_FAILURE_WINDOW_SECONDS: envInt(300, 1, 86400),
  API_AUTH_FAILURE_BLOCK_SECONDS: envInt(900, 1, 86400),
  API_EXPENSIVE_ROUTE_LIMIT: envInt(30, 1, 1_000_000_000),
  API_EXPENSIVE_ROUTE_WINDOW_SECONDS: envInt(60, 1, 86400),
  CONSOLE_DIR: z.string().min(1).default('dist/console'),
  CONSOLE_ORIGIN: envOptionalString(),
  CONSOLE_SESSION_IDLE_SECONDS: envInt(900, 30, 86400),
  CONSOLE_SESSION_ABSOLUTE_SECONDS: envInt(43200, 60, 7 * 86400),
  CONSOLE_SIGNIN_MAX_FAILURES: envInt(5, 1, 100),
  CONSOLE_SIGNIN_LOCKOUT_SECONDS: envInt(900, 1, 7 * 86400),
  API_TOKEN_TTL_DAYS: envInt(90, 1, 3650),
  API_TOKEN_CACHE_SECONDS: envInt(10, 0, 60),
  INVITATION_TTL_HOURS: envInt(72, 1, 24 * 30),
  ADMIN_PROPOSAL_TTL_HOURS: envInt(168, 1, 24 * 90),
  LEDGER_IMPORT_MAX_BYTES: envInt(100 * 1024 * 1024, 1024, 2 ** 31 - 1),
  LEDGER_IMPORT_MAX_UNCOMPRESSED_BYTES: envInt(256 * 1024 * 1024, 1024, 2 ** 31 - 1),
  LEDGER_IMPORT_MAX_ROWS: envInt(200_000, 1, 10_000_000),
  UPLOADS_DIR: envOptionalString(),

  SECRETS_KEY: envOptionalString().pipe(
    z.union([z.undefined(), z.string().regex(/^[0-9a-fA-F]{64}$/, 'expected 64 hex characters (a 256-bit AES key)')]),
  ),
  SECRETS_KEY_PREVIOUS: envOptionalString().pipe(
    z.union([
      z.undefined(),
      z.string().regex(/^[0-9a-fA-F]{64}(\s*,\s*[0-9a-fA-F]{64})*$/, 'expected comma-separated keys of 64 hex characters'),
    ]),
  ),
  /** Ids (not keys) of keys removed from the ring: audit rows signed with them are accepted unchecked, any other id fails. */
  SECRETS_KEY_RETIRED_IDS: envOptionalString(),

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
  KLEAR_REPORT_HOSTS: envHostList(),
  KLEAR_REPORT_MAX_BYTES: envInt(256 * 1024 * 1024, 1024, 2 ** 31 - 1),
  KLEAR_MAX_BUFFER_BYTES: envInt(16 * 1024 * 1024, 1024, 2 ** 31 - 1),
  KLEAR_SPOOL_DIR: envOptionalString(),
  ALLOW_PLAIN_HTTP_HOSTS: envHostList(),
  KLEAR_RATE_SHARE: z
    .string()
    .regex(/^(0(\.[0-9]+)?|1(\.0+)?)$/, 'expected a fraction in (0, 1]')
    .default('1')
    .transform((s) => Number(s))
    .pipe(z.number().gt(0, 'expected a fraction in (0, 1]')),

  WORKER_JOBS_ENABLED: envBool(true),
  WORKER_BACKFILL_DAYS: envInt(30, 0, 3650),
  WORKER_INSTANCE_ID: envOptionalString(),
  INGEST_OBLIGATION_FULL_REWALK_HOURS: envInt(24, 0, 8760),
  INGEST_CORRECTION_HORIZON_HOURS: envInt(168, 1, 87600),
  INGEST_DEEP_REWALK_HOURS: envInt(168, 0, 87600),
  INGEST_REPORTS_LOOKBACK_DAYS: envInt(2, 0, 3650),

  WITHDRAWAL_BALANCE_MAX_AGE_SECONDS: envInt(60, 0, 86400),
  WITHDRAWAL_WEBHOOK_URL: envOptionalString().pipe(z.union([z.undefined(), envUrl(['http', 'https'])])),
  WITHDRAWAL_WEBHOOK_SECRET: envOptionalString().pipe(z.union([z.undefined(), z.string().min(32, 'expected at least 32 characters')])),
  WITHDRAWAL_WEBHOOK_MAX_ATTEMPTS: envInt(3, 1, 10),
  WITHDRAWAL_DEFAULT_CAP_CENTICENTS: envCenticents(10_000_000_000_000n),
  WITHDRAWAL_OUTCOME_GRACE_SECONDS: envInt(300, 1, 86400),
  WITHDRAWAL_POST_MAX_WAIT_SECONDS: envInt(60, 0, 3600),

  RECON_TOLERANCE_SETTLEMENT_DETAILS_CENTICENTS: envCenticents(0n),
  RECON_TOLERANCE_MAINTENANCE_MARGIN_CENTICENTS: envCenticents(0n),
  RECON_TOLERANCE_FUNDING_CENTICENTS: envCenticents(0n),
  RECON_TOLERANCE_KLEAR_CONSISTENCY_CENTICENTS: envCenticents(0n),
  RECON_TOLERANCE_SETTLEMENT_BUFFER_CENTICENTS: envCenticents(0n),
  RECON_TOLERANCE_PROJECTED_CENTICENTS: envCenticents(0n),
  RECON_BUFFER_MATCH_WINDOW_HOURS: envInt(24, 0, 24 * 31),

  EXPORTS_DIR: z.string().min(1).default('.data/exports'),
  EXPORTS_WORKBOOK_LOOKBACK_DAYS: envInt(7, 0, 3650),
  REPORTS_DIR: z.string().min(1).default('.data/reports'),

  NOTIFY_SMTP_URL: envOptionalString().pipe(z.union([z.undefined(), envUrl(['smtp', 'smtps'])])),
  NOTIFY_EMAIL_FROM: z.string().min(3).default('Klear SCM back office <klear-ops@localhost>'),
  NOTIFY_SLACK_WEBHOOK_URL: envOptionalString().pipe(z.union([z.undefined(), envUrl(['http', 'https'])])),
  NOTIFY_SLACK_WEBHOOK_SECRET: envOptionalString().pipe(z.union([z.undefined(), z.string().min(32, 'expected at least 32 characters')])),
  NOTIFY_CONSOLE_URL: envUrl(['http', 'https']).default('http://127.0.0.1:3000/console'),
  NOTIFY_MAX_ATTEMPTS: envInt(8, 1, 100),
  NOTIFY_RETRY_BASE_SECONDS: envInt(30, 1, 86400),
  NOTIFY_BATCH_SIZE: envInt(100, 1, 10000),
  NOTIFY_BREAK_MIN_CENTICENTS: envCenticents(1_000_000n),
  NOTIFY_BREAK_DIGEST_AGE_HOURS: envInt(48, 1, 24 * 365),
  NOTIFY_EXPIRY_WARNING_MINUTES: envInt(60, 1, 24 * 60 * 30),

  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  METRICS_PORT: envInt(0, 0, 65535),
  METRICS_WORKER_PORT: envInt(0, 0, 65535),
  METRICS_TOKEN: envOptionalString().pipe(z.union([z.undefined(), z.string().min(16, 'expected at least 16 characters')])),
  HEALTH_STALE_BALANCE_SECONDS: envInt(900, 1, 7 * 86400),
  HEALTH_STALE_OBLIGATIONS_SECONDS: envInt(900, 1, 7 * 86400),
  HEALTH_STALE_ESTIMATE_SECONDS: envInt(900, 1, 7 * 86400),
});

export type ConfigInput = z.input<typeof schema>;
type Raw = z.output<typeof schema>;

export interface AppConfig {
  env: Raw['NODE_ENV'];
  log: { level: Raw['LOG_LEVEL']; pretty: boolean };
  /**
   * `url`: the application's connection (a role that owns nothing: docs/security.md, "Database roles");
   * `migrationUrl`: the schema owner's, used only to migrate (unset: `url` migrates too).
   */
  database: {
    url: string | undefined;
    migrationUrl: string | undefined;
    migrateOnStart: boolean;
    poolSize: number;
    embedded: { dataDir: string; port: number };
  };
  api: {
    host: string;
    port: number;
    /** Ledger batch routes only (`@LargeJsonBody()`). */
    bodyLimitMb: number;
    /** Every other route. */
    defaultBodyLimitKb: number;
    /** Express `trust proxy`: which hops may set X-Forwarded-For (the client address rate limits count by). */
    trustProxy: boolean | number | string;
    docsEnabled: boolean;
    /** Failed authentications per client address: over `limit` within the window, the client is blocked. */
    authFailures: { limit: number; windowSeconds: number; blockSeconds: number };
    /** Calls per user (per client address before authentication) to each expensive route. */
    expensiveRoutes: { limit: number; windowSeconds: number };
  };
  /**
   * Credentials and dual control: token lifetime, invitation lifetime, how long a proposal waits for its
   * second admin, and how long the API may reuse a verified token without asking the database (0: never).
   */
  auth: { tokenTtlDays: number; invitationTtlHours: number; proposalTtlHours: number; tokenCacheSeconds: number };
  /**
   * The ops console: its built files (`npm run build`), the origin people open it at (WebAuthn's
   * expected origin and relying-party id; unset: the request's own Host, for loopback use), session
   * idle and absolute timeouts, and the sign-in lockout.
   */
  console: {
    dir: string;
    origin: string | undefined;
    idleSeconds: number;
    absoluteSeconds: number;
    maxFailures: number;
    lockoutSeconds: number;
  };
  /**
   * Ledger file imports: uploads above importMaxBytes are refused with 413 while streaming; XLSX
   * files are refused as soon as their unpacked parts pass importMaxUncompressedBytes, any file as
   * soon as it passes importMaxRows. Uploads are kept (mode 0600) in uploadsDir while imported.
   */
  ledger: { importMaxBytes: number; importMaxUncompressedBytes: number; importMaxRows: number; uploadsDir: string };
  /** SECRETS_KEY (seals, signs) and SECRETS_KEY_PREVIOUS (still opened and verified): the keyring. */
  secretsKey: Buffer | undefined;
  secretsKeysPrevious: Buffer[];
  /** SECRETS_KEY_RETIRED_IDS: ids of keys retired from the ring (docs/security.md, "Audit trail"). */
  secretsRetiredKeyIds: string[];
  /** Hosts that may be reached over plain http even in production (the bundled simulator in compose). */
  allowPlainHttpHosts: string[];
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
    /** Share of the member's Klear rate limit this process may use (processes split the tier). */
    rateShare: number;
    /** Hosts report files may be downloaded from (KLEAR_BASE_URL's host is always allowed). */
    reportHosts: string[];
    reportMaxBytes: number;
    /** An answer body past this many bytes is spooled to a temporary file and read as a stream. */
    maxBufferBytes: number;
    /**
     * Where those bodies are spooled: files without a name (Linux O_TMPFILE, else unlinked at creation),
     * so on a local disk, not a tmpfs, or the memory bound is lost. Default the OS temp directory.
     */
    spoolDir: string;
  };
  worker: { jobsEnabled: boolean; backfillDays: number; instanceId: string | undefined };
  /**
   * Per-job overrides from `JOB_<NAME>_CRON` / `JOB_<NAME>_ENABLED` / `JOB_<NAME>_STALE_SECONDS`
   * (name upper-cased); schedules default with each job, staleness with DEFAULT_JOB_STALE_SECONDS.
   */
  jobs: Record<string, { cron?: string; enabled?: boolean; staleSeconds?: number }>;
  ingestion: {
    obligationFullRewalkHours: number;
    reportsLookbackDays: number;
    /** How far back from its last run a scheduled walk re-reads (Klear's corrections and back-dated entries). */
    correctionHorizonHours: number;
    /** Period of the walk back to the oldest record held (0: every run). */
    deepRewalkHours: number;
  };
  withdrawals: {
    balanceMaxAgeSeconds: number;
    webhookUrl: string | undefined;
    /** HMAC-SHA256 key of the webhook's signature (docs/security.md, "Withdrawal webhook"). */
    webhookSecret: string | undefined;
    webhookMaxAttempts: number;
    defaultCapCenticents: bigint;
    /** An unanswered POST is declared not submitted (absent from Klear's records) only after this long. */
    outcomeGraceSeconds: number;
    /** The longest the executor waits for the rate limit before a POST; a longer wait abandons the attempt unsent. */
    postMaxWaitSeconds: number;
  };
  /** lookbackDays: how far back the daily job builds reconciled days that lack a (complete) workbook. */
  exports: { dir: string; lookbackDays: number };
  reports: { dir: string };
  /** Absolute tolerances per check (centicents, >= 0) and the amount-matching window of buffer movements. */
  /**
   * Operations notifications (docs/notifications.md): SMTP and the Slack-compatible webhook (either
   * may be unset: its deliveries wait, recorded as failed attempts), links to `consoleUrl`, retries
   * with exponential backoff from `retryBaseSeconds`, thresholds of the break and expiry events.
   */
  notifications: {
    smtpUrl: string | undefined;
    emailFrom: string;
    slackWebhookUrl: string | undefined;
    slackWebhookSecret: string | undefined;
    consoleUrl: string;
    maxAttempts: number;
    retryBaseSeconds: number;
    batchSize: number;
    breakMinCenticents: bigint;
    breakDigestAgeHours: number;
    expiryWarningMinutes: number;
  };
  /**
   * Prometheus metrics: the API serves them on `apiPort`, the worker on `workerPort` (0 = not
   * served), bound to `host`; with `token`, a scrape must send `Authorization: Bearer <token>`.
   */
  metrics: { host: string; apiPort: number; workerPort: number; token: string | undefined };
  /** Readiness is `degraded` (not failing) when a key pull is older than this (seconds). */
  health: { staleSeconds: { balance: number; obligations: number; estimate: number } };
  reconciliation: {
    tolerances: {
      settlementDetails: bigint;
      maintenanceMargin: bigint;
      funding: bigint;
      klearConsistency: bigint;
      settlementBuffer: bigint;
      projected: bigint;
    };
    bufferMatchWindowHours: number;
  };
}

/**
 * How long after its last success a job is stale (a `job.stale` notification, the
 * `klear_job_stale_after_seconds` metric and its alert), unless JOB_<NAME>_STALE_SECONDS says
 * otherwise. Jobs not listed have no staleness unless configured.
 */
export const DEFAULT_JOB_STALE_SECONDS: Readonly<Record<string, number>> = {
  settlement_balance: 900,
  active_obligation: 900,
  settlement_estimate: 900,
  balance_history: 1800,
  obligation_history: 2700,
  reconcile_cycles: 1800,
  withdrawal_executor: 300,
  withdrawal_poller: 600,
  notification_sender: 300,
};

/** Every job with a staleness: the defaults, overridden by configuration. */
export function jobStaleness(config: Pick<AppConfig, 'jobs'>): Record<string, number> {
  const out: Record<string, number> = { ...DEFAULT_JOB_STALE_SECONDS };
  for (const [name, o] of Object.entries(config.jobs)) if (o.staleSeconds !== undefined) out[name] = o.staleSeconds;
  return out;
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
  const jobOverrides = readJobOverrides(env, problems);
  // Session credentials may instead be stored encrypted in the database (needs SECRETS_KEY).
  if (c.KLEAR_AUTH_MODE === 'session' && (!c.KLEAR_EMAIL || !c.KLEAR_PASSWORD) && !c.SECRETS_KEY) {
    problems.push(
      'KLEAR_EMAIL, KLEAR_PASSWORD: required when KLEAR_AUTH_MODE=session (or store them encrypted: SECRETS_KEY + cli klear:credentials:set)',
    );
  }
  // An unanswered withdrawal POST may still land at Klear until well after our timeout.
  if (c.WITHDRAWAL_OUTCOME_GRACE_SECONDS * 1000 <= c.KLEAR_TIMEOUT_MS) {
    problems.push(
      'WITHDRAWAL_OUTCOME_GRACE_SECONDS: must exceed KLEAR_TIMEOUT_MS (a POST still in flight must not be declared not submitted)',
    );
  }
  if (c.NODE_ENV === 'production' && !c.SECRETS_KEY) {
    problems.push('SECRETS_KEY: required in production (64 hex characters)');
  }
  if (c.SECRETS_KEY_PREVIOUS && !c.SECRETS_KEY) problems.push('SECRETS_KEY_PREVIOUS: needs SECRETS_KEY (the current key)');
  if (c.NODE_ENV === 'production') {
    // Credentials and presigned URLs travel to Klear, alerts to the webhook: never in clear text.
    for (const [name, url] of [
      ['KLEAR_BASE_URL', c.KLEAR_BASE_URL],
      ['WITHDRAWAL_WEBHOOK_URL', c.WITHDRAWAL_WEBHOOK_URL],
      ['NOTIFY_SLACK_WEBHOOK_URL', c.NOTIFY_SLACK_WEBHOOK_URL],
    ] as const) {
      if (url && plainHttpRefused(url, c.ALLOW_PLAIN_HTTP_HOSTS))
        problems.push(`${name}: must be https in production (plain http only to a host named in ALLOW_PLAIN_HTTP_HOSTS)`);
    }
    if (c.NOTIFY_SLACK_WEBHOOK_URL && !c.NOTIFY_SLACK_WEBHOOK_SECRET)
      problems.push('NOTIFY_SLACK_WEBHOOK_SECRET: required in production when NOTIFY_SLACK_WEBHOOK_URL is set (the webhook is signed)');
    if (c.WITHDRAWAL_WEBHOOK_URL && !c.WITHDRAWAL_WEBHOOK_SECRET)
      problems.push('WITHDRAWAL_WEBHOOK_SECRET: required in production when WITHDRAWAL_WEBHOOK_URL is set (the webhook is signed)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    env: c.NODE_ENV,
    log: { level: c.LOG_LEVEL, pretty: c.LOG_PRETTY },
    database: {
      url: c.DATABASE_URL,
      migrationUrl: c.DATABASE_MIGRATION_URL,
      migrateOnStart: c.DATABASE_MIGRATE_ON_START,
      poolSize: c.DATABASE_POOL_SIZE,
      embedded: { dataDir: c.EMBEDDED_PG_DATA_DIR, port: c.EMBEDDED_PG_PORT },
    },
    api: {
      host: c.API_HOST,
      port: c.API_PORT,
      bodyLimitMb: c.API_BODY_LIMIT_MB,
      defaultBodyLimitKb: c.API_DEFAULT_BODY_LIMIT_KB,
      trustProxy: trustProxyValue(c.API_TRUST_PROXY),
      docsEnabled: c.API_DOCS_ENABLED === undefined ? c.NODE_ENV !== 'production' : ['true', '1', 'yes'].includes(c.API_DOCS_ENABLED),
      authFailures: {
        limit: c.API_AUTH_FAILURE_LIMIT,
        windowSeconds: c.API_AUTH_FAILURE_WINDOW_SECONDS,
        blockSeconds: c.API_AUTH_FAILURE_BLOCK_SECONDS,
      },
      expensiveRoutes: { limit: c.API_EXPENSIVE_ROUTE_LIMIT, windowSeconds: c.API_EXPENSIVE_ROUTE_WINDOW_SECONDS },
    },
    console: {
      dir: c.CONSOLE_DIR,
      origin: c.CONSOLE_ORIGIN,
      idleSeconds: c.CONSOLE_SESSION_IDLE_SECONDS,
      absoluteSeconds: c.CONSOLE_SESSION_ABSOLUTE_SECONDS,
      maxFailures: c.CONSOLE_SIGNIN_MAX_FAILURES,
      lockoutSeconds: c.CONSOLE_SIGNIN_LOCKOUT_SECONDS,
    },
    auth: {
      tokenTtlDays: c.API_TOKEN_TTL_DAYS,
      invitationTtlHours: c.INVITATION_TTL_HOURS,
      proposalTtlHours: c.ADMIN_PROPOSAL_TTL_HOURS,
      tokenCacheSeconds: c.API_TOKEN_CACHE_SECONDS,
    },
    ledger: {
      importMaxBytes: c.LEDGER_IMPORT_MAX_BYTES,
      importMaxUncompressedBytes: c.LEDGER_IMPORT_MAX_UNCOMPRESSED_BYTES,
      importMaxRows: c.LEDGER_IMPORT_MAX_ROWS,
      uploadsDir: c.UPLOADS_DIR ?? join(tmpdir(), 'klear-uploads'),
    },
    secretsKey: c.SECRETS_KEY ? Buffer.from(c.SECRETS_KEY, 'hex') : undefined,
    secretsKeysPrevious: (c.SECRETS_KEY_PREVIOUS ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean)
      .map((k) => Buffer.from(k, 'hex')),
    secretsRetiredKeyIds: (c.SECRETS_KEY_RETIRED_IDS ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean),
    allowPlainHttpHosts: c.ALLOW_PLAIN_HTTP_HOSTS,
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
      rateShare: c.KLEAR_RATE_SHARE,
      reportHosts: c.KLEAR_REPORT_HOSTS,
      reportMaxBytes: c.KLEAR_REPORT_MAX_BYTES,
      maxBufferBytes: c.KLEAR_MAX_BUFFER_BYTES,
      spoolDir: c.KLEAR_SPOOL_DIR ?? tmpdir(),
    },
    worker: { jobsEnabled: c.WORKER_JOBS_ENABLED, backfillDays: c.WORKER_BACKFILL_DAYS, instanceId: c.WORKER_INSTANCE_ID },
    jobs: jobOverrides,
    ingestion: {
      obligationFullRewalkHours: c.INGEST_OBLIGATION_FULL_REWALK_HOURS,
      reportsLookbackDays: c.INGEST_REPORTS_LOOKBACK_DAYS,
      correctionHorizonHours: c.INGEST_CORRECTION_HORIZON_HOURS,
      deepRewalkHours: c.INGEST_DEEP_REWALK_HOURS,
    },
    withdrawals: {
      balanceMaxAgeSeconds: c.WITHDRAWAL_BALANCE_MAX_AGE_SECONDS,
      webhookUrl: c.WITHDRAWAL_WEBHOOK_URL,
      webhookSecret: c.WITHDRAWAL_WEBHOOK_SECRET,
      webhookMaxAttempts: c.WITHDRAWAL_WEBHOOK_MAX_ATTEMPTS,
      defaultCapCenticents: c.WITHDRAWAL_DEFAULT_CAP_CENTICENTS,
      outcomeGraceSeconds: c.WITHDRAWAL_OUTCOME_GRACE_SECONDS,
      postMaxWaitSeconds: c.WITHDRAWAL_POST_MAX_WAIT_SECONDS,
    },
    exports: { dir: c.EXPORTS_DIR, lookbackDays: c.EXPORTS_WORKBOOK_LOOKBACK_DAYS },
    reports: { dir: c.REPORTS_DIR },
    notifications: {
      smtpUrl: c.NOTIFY_SMTP_URL,
      emailFrom: c.NOTIFY_EMAIL_FROM,
      slackWebhookUrl: c.NOTIFY_SLACK_WEBHOOK_URL,
      slackWebhookSecret: c.NOTIFY_SLACK_WEBHOOK_SECRET,
      consoleUrl: c.NOTIFY_CONSOLE_URL.replace(/\/+$/, ''),
      maxAttempts: c.NOTIFY_MAX_ATTEMPTS,
      retryBaseSeconds: c.NOTIFY_RETRY_BASE_SECONDS,
      batchSize: c.NOTIFY_BATCH_SIZE,
      breakMinCenticents: c.NOTIFY_BREAK_MIN_CENTICENTS,
      breakDigestAgeHours: c.NOTIFY_BREAK_DIGEST_AGE_HOURS,
      expiryWarningMinutes: c.NOTIFY_EXPIRY_WARNING_MINUTES,
    },
    metrics: { host: c.METRICS_HOST, apiPort: c.METRICS_PORT, workerPort: c.METRICS_WORKER_PORT, token: c.METRICS_TOKEN },
    health: {
      staleSeconds: {
        balance: c.HEALTH_STALE_BALANCE_SECONDS,
        obligations: c.HEALTH_STALE_OBLIGATIONS_SECONDS,
        estimate: c.HEALTH_STALE_ESTIMATE_SECONDS,
      },
    },
    reconciliation: {
      tolerances: {
        settlementDetails: c.RECON_TOLERANCE_SETTLEMENT_DETAILS_CENTICENTS,
        maintenanceMargin: c.RECON_TOLERANCE_MAINTENANCE_MARGIN_CENTICENTS,
        funding: c.RECON_TOLERANCE_FUNDING_CENTICENTS,
        klearConsistency: c.RECON_TOLERANCE_KLEAR_CONSISTENCY_CENTICENTS,
        settlementBuffer: c.RECON_TOLERANCE_SETTLEMENT_BUFFER_CENTICENTS,
        projected: c.RECON_TOLERANCE_PROJECTED_CENTICENTS,
      },
      bufferMatchWindowHours: c.RECON_BUFFER_MATCH_WINDOW_HOURS,
    },
  };
}

function plainHttpRefused(url: string, allowed: string[]): boolean {
  const u = new URL(url);
  return u.protocol === 'http:' && !allowed.includes(u.hostname.toLowerCase());
}

function trustProxyValue(text: string): boolean | number | string {
  if (text === 'false') return false;
  if (text === 'true') return true;
  if (/^\d+$/.test(text)) return Number(text);
  return text;
}

/**
 * `JOB_<NAME>_CRON` (a cron expression, 5 or 6 fields) and `JOB_<NAME>_ENABLED` for any job name, so
 * that a new job is configurable without a new schema entry. The cron syntax is checked again by the
 * scheduler, which names the variable.
 */
function readJobOverrides(env: Record<string, string | undefined>, problems: string[]): AppConfig['jobs'] {
  const jobs: AppConfig['jobs'] = {};
  for (const [key, value] of Object.entries(env)) {
    const m = /^JOB_([A-Z0-9_]+?)_(CRON|ENABLED|STALE_SECONDS)$/.exec(key);
    if (!m || value === undefined || value === '') continue;
    const name = m[1].toLowerCase();
    const entry = (jobs[name] ??= {});
    if (m[2] === 'STALE_SECONDS') {
      if (/^[1-9]\d{0,8}$/.test(value)) entry.staleSeconds = Number(value);
      else problems.push(`${key}: expected a whole number of seconds`);
    } else if (m[2] === 'CRON') {
      if (value.trim().split(/\s+/).length < 5 || value.trim().split(/\s+/).length > 6)
        problems.push(`${key}: expected a cron expression of 5 or 6 fields`);
      else entry.cron = value.trim();
    } else if (['true', '1', 'yes', 'false', '0', 'no'].includes(value)) {
      entry.enabled = value === 'true' || value === '1' || value === 'yes';
    } else {
      problems.push(`${key}: expected true or false`);
    }
  }
  return jobs;
}
