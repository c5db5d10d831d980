import type { RateLimitTier } from '@app/klear-contract';
import { RATE_LIMIT_TIERS } from '@app/klear-contract';
import { parseEtTimes } from './schedule';

export type Cadence = 'daily' | 'seconds';

/**
 * `startAt` value of a world that follows real time: its newest settled cycle is the latest one
 * before now on the real schedule, its open cycle today's (or the next one), and its clock advances
 * with the wall clock. The command line uses it when no --start-at is given; a fixed instant keeps a
 * reproducible world (the library default below, for tests).
 */
export const START_NOW = 'now';

export interface SimulatorOptions {
  port: number;
  host: string;
  seed: number;
  adminUserId: string;
  accessToken: string;
  email: string;
  password: string;
  /** Empty: no MFA code is required at /log_in. */
  mfaCode: string;
  nonMemberUserId: string;
  nonMemberAccessToken: string;
  sessionTtlSeconds: number;
  tier: RateLimitTier;
  rateLimit: boolean;
  subtraders: number;
  markets: number;
  days: number;
  cadence: Cadence;
  cadenceSeconds: number;
  settlementTimeEt: string;
  startAt: string;
  paymentDelaySeconds: number;
  withdrawalDelays: [number, number];
  withdrawalFailureRate: number;
  initialDepositCenticents: bigint;
  largeTraderThreshold: number;
  reportSigningKey: string;
  reportUrlTtlSeconds: number;
  /** Origin put in report URLs; empty: taken from the request's Host header. */
  filesBaseUrl: string;
  adminToken: string;
  faultSeed: number;
  /** File keeping the world's anchor, deposits and withdrawals across restarts (empty: nothing kept). */
  stateFile: string;
  /** Asset classes of the world, comma-separated ("Crypto" alone by default); markets are dealt round-robin. */
  assetClasses: string;
  /** Funding times per settlement cycle (0: no funding payments). */
  fundingPerCycle: number;
  /** Netted subtrader groups (every third subtrader, four to a group) margined as one portfolio. */
  marginGroups: boolean;
  /** Seeded wire quirks of the live API: `""` last cursors and `null` empty lists in some answers. */
  wireQuirks: boolean;
  /** LEGACY: serve the removed `POST /log_in` session login (off: 404, as the live API answers). */
  legacySessionLogin: boolean;
  /**
   * Which obligation `GET /margin/active_obligations` answers with, one per asset class. The contract says
   * "every obligation currently active ... empty when none is pending" without saying when an obligation
   * becomes active; the simulator serves both readings and the product handles both (docs/klear-api.md):
   * `pending_payment`: a settled cycle's obligation between its execution and its payment (else none);
   * `open_cycle`: that one while its payment is pending, else the open cycle's obligation as it stands
   * (its execution_time still ahead: always today's cycle or the next one).
   */
  activeObligations: ActiveObligations;
  /**
   * How obligation history pages: `cycles` (a page holds `limit` whole cycles, every asset class of
   * each, so no tie is split), or `limit` obligations with the next page `strict`ly before the
   * date-time cursor or `inclusive` of it (ties at a page boundary split, as the live API may).
   */
  obligationPaging: ObligationPaging;
}

export type ActiveObligations = 'pending_payment' | 'open_cycle';
export type ObligationPaging = 'cycles' | 'strict' | 'inclusive';

interface OptionSpec<K extends keyof SimulatorOptions> {
  key: K;
  flag: string;
  env: string;
  description: string;
  parse: (raw: string) => SimulatorOptions[K];
}

function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (raw: string): number => {
    if (!/^-?[0-9]+$/.test(raw)) throw new Error(`expected an integer, got "${raw}"`);
    const value = Number(raw);
    if (value < min || value > max) throw new Error(`expected an integer in [${min}, ${max}], got ${raw}`);
    return value;
  };
}

function rate(raw: string): number {
  const value = Number(raw);
  if (!/^[0-9.]+$/.test(raw) || !(value >= 0 && value <= 1)) throw new Error(`expected a rate in [0, 1], got "${raw}"`);
  return value;
}

const text = (raw: string): string => raw;

export const OPTION_SPECS: { [K in keyof SimulatorOptions]: OptionSpec<K> } = {
  port: { key: 'port', flag: '--port', env: 'KLEAR_SIM_PORT', description: 'TCP port (0 = any free port)', parse: integer(0, 65535) },
  host: { key: 'host', flag: '--host', env: 'KLEAR_SIM_HOST', description: 'interface to listen on', parse: text },
  seed: { key: 'seed', flag: '--seed', env: 'KLEAR_SIM_SEED', description: 'world seed (uint32)', parse: integer(0, 0xffffffff) },
  adminUserId: {
    key: 'adminUserId',
    flag: '--admin-user-id',
    env: 'KLEAR_SIM_ADMIN_USER_ID',
    description: 'the clearing member admin user id (also the user_id in answers)',
    parse: text,
  },
  accessToken: {
    key: 'accessToken',
    flag: '--access-token',
    env: 'KLEAR_SIM_ACCESS_TOKEN',
    description: 'bearer access token of the member admin',
    parse: text,
  },
  email: { key: 'email', flag: '--email', env: 'KLEAR_SIM_EMAIL', description: 'login email of the member admin', parse: text },
  password: {
    key: 'password',
    flag: '--password',
    env: 'KLEAR_SIM_PASSWORD',
    description: 'login password of the member admin',
    parse: text,
  },
  mfaCode: {
    key: 'mfaCode',
    flag: '--mfa-code',
    env: 'KLEAR_SIM_MFA_CODE',
    description: 'MFA code required at /log_in (empty: none required)',
    parse: text,
  },
  nonMemberUserId: {
    key: 'nonMemberUserId',
    flag: '--non-member-user-id',
    env: 'KLEAR_SIM_NON_MEMBER_USER_ID',
    description: 'a valid user that is not a clearing member (answers 403)',
    parse: text,
  },
  nonMemberAccessToken: {
    key: 'nonMemberAccessToken',
    flag: '--non-member-access-token',
    env: 'KLEAR_SIM_NON_MEMBER_ACCESS_TOKEN',
    description: 'access token of that non-member user',
    parse: text,
  },
  sessionTtlSeconds: {
    key: 'sessionTtlSeconds',
    flag: '--session-ttl-seconds',
    env: 'KLEAR_SIM_SESSION_TTL_SECONDS',
    description: 'life of a /log_in session cookie, in real seconds',
    parse: integer(1),
  },
  tier: {
    key: 'tier',
    flag: '--tier',
    env: 'KLEAR_SIM_TIER',
    description: 'rate-limit tier: basic | advanced | premier | prime',
    parse: (raw) => {
      if (!(raw in RATE_LIMIT_TIERS)) throw new Error(`unknown tier "${raw}"`);
      return raw as RateLimitTier;
    },
  },
  rateLimit: {
    key: 'rateLimit',
    flag: '--rate-limit',
    env: 'KLEAR_SIM_RATE_LIMIT',
    description: 'enforce the tier limits: on | off',
    parse: (raw) => {
      if (raw !== 'on' && raw !== 'off') throw new Error(`expected on or off, got "${raw}"`);
      return raw === 'on';
    },
  },
  subtraders: {
    key: 'subtraders',
    flag: '--subtraders',
    env: 'KLEAR_SIM_SUBTRADERS',
    description: 'number of subtraders',
    parse: integer(1, 100_000),
  },
  markets: { key: 'markets', flag: '--markets', env: 'KLEAR_SIM_MARKETS', description: 'number of markets', parse: integer(1, 1_000) },
  days: {
    key: 'days',
    flag: '--days',
    env: 'KLEAR_SIM_DAYS',
    description: 'settled cycles of history at start',
    parse: integer(1, 10_000),
  },
  cadence: {
    key: 'cadence',
    flag: '--cadence',
    env: 'KLEAR_SIM_CADENCE',
    description: 'daily (clock moves only by the admin path) | seconds (clock follows real time)',
    parse: (raw) => {
      if (raw !== 'daily' && raw !== 'seconds') throw new Error(`expected daily or seconds, got "${raw}"`);
      return raw;
    },
  },
  cadenceSeconds: {
    key: 'cadenceSeconds',
    flag: '--cadence-seconds',
    env: 'KLEAR_SIM_CADENCE_SECONDS',
    description: 'cycle length in seconds cadence',
    parse: integer(1),
  },
  settlementTimeEt: {
    key: 'settlementTimeEt',
    flag: '--settlement-time-et',
    env: 'KLEAR_SIM_SETTLEMENT_TIME_ET',
    description: 'daily settlement time(s), HH:MM America/New_York, comma-separated for several cycles a day',
    parse: (raw) => (parseEtTimes(raw), raw),
  },
  startAt: {
    key: 'startAt',
    flag: '--start-at',
    env: 'KLEAR_SIM_START_AT',
    description:
      'simulated instant at start (RFC 3339): a fixed world whose clock moves only by the admin path; "now": the real time, and the clock follows the wall clock',
    parse: (raw) => {
      if (raw !== START_NOW && Number.isNaN(Date.parse(raw))) throw new Error(`expected an RFC 3339 instant or "now", got "${raw}"`);
      return raw;
    },
  },
  paymentDelaySeconds: {
    key: 'paymentDelaySeconds',
    flag: '--payment-delay-seconds',
    env: 'KLEAR_SIM_PAYMENT_DELAY_SECONDS',
    description: 'simulated seconds between a cycle and its buffer payment (the obligation is active meanwhile)',
    parse: integer(0),
  },
  withdrawalDelays: {
    key: 'withdrawalDelays',
    flag: '--withdrawal-delays',
    env: 'KLEAR_SIM_WITHDRAWAL_DELAYS',
    description: 'simulated seconds "pending,processing" before the next status',
    parse: (raw) => {
      const parts = raw.split(',').map(integer(0));
      if (parts.length !== 2) throw new Error(`expected two integers "pending,processing", got "${raw}"`);
      return [parts[0], parts[1]];
    },
  },
  withdrawalFailureRate: {
    key: 'withdrawalFailureRate',
    flag: '--withdrawal-failure-rate',
    env: 'KLEAR_SIM_WITHDRAWAL_FAILURE_RATE',
    description: 'share of withdrawals that fail, in [0, 1] (deterministic per withdrawal)',
    parse: rate,
  },
  initialDepositCenticents: {
    key: 'initialDepositCenticents',
    flag: '--initial-deposit-centicents',
    env: 'KLEAR_SIM_INITIAL_DEPOSIT_CENTICENTS',
    description: 'buffer deposit before the first cycle, in centicents',
    parse: (raw) => {
      if (!/^[0-9]+$/.test(raw)) throw new Error(`expected non-negative integer centicents, got "${raw}"`);
      return BigInt(raw);
    },
  },
  largeTraderThreshold: {
    key: 'largeTraderThreshold',
    flag: '--large-trader-threshold',
    env: 'KLEAR_SIM_LARGE_TRADER_THRESHOLD',
    description: 'contracts (absolute, per market, summed over subtraders) from which a position is reportable',
    parse: integer(1),
  },
  reportSigningKey: {
    key: 'reportSigningKey',
    flag: '--report-signing-key',
    env: 'KLEAR_SIM_REPORT_SIGNING_KEY',
    description: 'HMAC key of the presigned report URLs',
    parse: text,
  },
  reportUrlTtlSeconds: {
    key: 'reportUrlTtlSeconds',
    flag: '--report-url-ttl-seconds',
    env: 'KLEAR_SIM_REPORT_URL_TTL_SECONDS',
    description: 'validity of a report URL, simulated seconds after listing',
    parse: integer(1),
  },
  filesBaseUrl: {
    key: 'filesBaseUrl',
    flag: '--files-base-url',
    env: 'KLEAR_SIM_FILES_BASE_URL',
    description: 'origin written into report URLs (empty: from the Host header)',
    parse: text,
  },
  adminToken: {
    key: 'adminToken',
    flag: '--admin-token',
    env: 'KLEAR_SIM_ADMIN_TOKEN',
    description: 'token of the /__sim admin path (header x-sim-admin-token)',
    parse: text,
  },
  faultSeed: {
    key: 'faultSeed',
    flag: '--fault-seed',
    env: 'KLEAR_SIM_FAULT_SEED',
    description: 'seed of fault decisions (uint32)',
    parse: integer(0, 0xffffffff),
  },
  stateFile: {
    key: 'stateFile',
    flag: '--state-file',
    env: 'KLEAR_SIM_STATE_FILE',
    description: 'JSON file keeping the world anchor, deposits and withdrawals across restarts (empty: none)',
    parse: text,
  },
  assetClasses: {
    key: 'assetClasses',
    flag: '--asset-classes',
    env: 'KLEAR_SIM_ASSET_CLASSES',
    description: 'asset classes, comma-separated (default Crypto; e.g. Crypto,Equity)',
    parse: (raw) => {
      const names = raw.split(',').map((name) => name.trim());
      if (
        names.length === 0 ||
        names.length > 8 ||
        names.some((name) => !/^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(name)) ||
        new Set(names).size !== names.length
      ) {
        throw new Error(`expected distinct asset class names, got "${raw}"`);
      }
      return names.join(',');
    },
  },
  fundingPerCycle: {
    key: 'fundingPerCycle',
    flag: '--funding-per-cycle',
    env: 'KLEAR_SIM_FUNDING_PER_CYCLE',
    description: 'funding times per settlement cycle (0: none; 3: every 8 hours daily)',
    parse: integer(0, 24),
  },
  marginGroups: {
    key: 'marginGroups',
    flag: '--margin-groups',
    env: 'KLEAR_SIM_MARGIN_GROUPS',
    description: 'netted subtrader groups: on | off',
    parse: (raw) => {
      if (raw !== 'on' && raw !== 'off') throw new Error(`expected on or off, got "${raw}"`);
      return raw === 'on';
    },
  },
  wireQuirks: {
    key: 'wireQuirks',
    flag: '--wire-quirks',
    env: 'KLEAR_SIM_WIRE_QUIRKS',
    description: 'seeded "" last cursors and null empty lists: on | off',
    parse: (raw) => {
      if (raw !== 'on' && raw !== 'off') throw new Error(`expected on or off, got "${raw}"`);
      return raw === 'on';
    },
  },
  activeObligations: {
    key: 'activeObligations',
    flag: '--active-obligations',
    env: 'KLEAR_SIM_ACTIVE_OBLIGATIONS',
    description:
      "which obligation is active: pending_payment (between execution and payment) | open_cycle (also the open cycle's, before it executes)",
    parse: (raw) => {
      if (raw !== 'pending_payment' && raw !== 'open_cycle') throw new Error(`expected pending_payment or open_cycle, got "${raw}"`);
      return raw;
    },
  },
  obligationPaging: {
    key: 'obligationPaging',
    flag: '--obligation-paging',
    env: 'KLEAR_SIM_OBLIGATION_PAGING',
    description:
      'obligation history pages: cycles (whole cycles) | strict | inclusive (limit obligations, the next page before / at or before the cursor)',
    parse: (raw) => {
      if (raw !== 'cycles' && raw !== 'strict' && raw !== 'inclusive')
        throw new Error(`expected cycles, strict or inclusive, got "${raw}"`);
      return raw;
    },
  },
  legacySessionLogin: {
    key: 'legacySessionLogin',
    flag: '--legacy-session-login',
    env: 'KLEAR_SIM_LEGACY_SESSION_LOGIN',
    description: 'LEGACY: serve the removed POST /log_in: on | off',
    parse: (raw) => {
      if (raw !== 'on' && raw !== 'off') throw new Error(`expected on or off, got "${raw}"`);
      return raw === 'on';
    },
  },
};

export const DEFAULT_OPTIONS: SimulatorOptions = {
  port: 4010,
  host: '127.0.0.1',
  seed: 1,
  adminUserId: 'sim-admin-user',
  accessToken: 'sim-access-token',
  email: 'clearing@example.test',
  password: 'sim-password',
  mfaCode: '',
  nonMemberUserId: 'sim-non-member-user',
  nonMemberAccessToken: 'sim-non-member-token',
  sessionTtlSeconds: 3600,
  tier: 'basic',
  rateLimit: true,
  subtraders: 25,
  markets: 40,
  days: 30,
  cadence: 'daily',
  cadenceSeconds: 60,
  settlementTimeEt: '17:00',
  startAt: '2026-11-20T21:00:00Z',
  paymentDelaySeconds: 3600,
  withdrawalDelays: [60, 300],
  withdrawalFailureRate: 0.1,
  initialDepositCenticents: 100_000_000_000n,
  largeTraderThreshold: 1_000,
  reportSigningKey: 'klear-sim-report-signing-key',
  reportUrlTtlSeconds: 900,
  filesBaseUrl: '',
  adminToken: 'klear-sim-admin',
  faultSeed: 1,
  stateFile: '',
  assetClasses: 'Crypto',
  fundingPerCycle: 0,
  marginGroups: false,
  wireQuirks: true,
  legacySessionLogin: false,
  activeObligations: 'pending_payment',
  obligationPaging: 'cycles',
};

export function resolveOptions(partial: Partial<SimulatorOptions> = {}): SimulatorOptions {
  const options = { ...DEFAULT_OPTIONS, ...partial };
  if (partial.paymentDelaySeconds === undefined && options.cadence === 'seconds') {
    // Default for the demo cadence: pay a quarter of a cycle after it settles.
    options.paymentDelaySeconds = Math.floor(options.cadenceSeconds / 4);
  }
  if (
    options.paymentDelaySeconds * 1000 >=
    (options.cadence === 'daily' ? shortestDailyGapMs(options.settlementTimeEt) : options.cadenceSeconds * 1000)
  ) {
    throw new Error('payment delay must be shorter than one cycle');
  }
  return options;
}

/** The shortest time between two consecutive daily settlement times (a whole day for one time). */
function shortestDailyGapMs(settlementTimesEt: string): number {
  const minutes = parseEtTimes(settlementTimesEt).map((t) => t.hour * 60 + t.minute);
  return Math.min(...minutes.map((m, i) => ((i + 1 < minutes.length ? minutes[i + 1] : minutes[0] + 1440) - m) * 60_000));
}
