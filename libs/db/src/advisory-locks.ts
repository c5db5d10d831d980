import { createHash } from 'node:crypto';

/**
 * Every PostgreSQL advisory lock the product takes, by name, and the helpers that take them.
 *
 * A key is how processes agree: an API, a worker and a CLI of different versions side by side (a
 * rolling deploy) must compute the same key for the same lock, so a key here never changes. The fixed
 * keys are ASCII tags read as integers ("kced" = 0x6b636564); the keys derived from a name are
 * computed by PostgreSQL (`hashtext`, `hashtextextended`) or, for jobs, from a SHA-256 of the name.
 * `advisory-locks.spec.ts` pins every value.
 *
 * Session locks (`lockForSession`, `tryLockForSession`) last until unlocked or until their connection
 * ends, so they are taken on a dedicated connection (a lost connection frees the lock at once);
 * transaction locks (`lockForTransaction`) end with the transaction.
 */
export class AdvisoryLock {
  private constructor(
    /** What the lock serialises, for messages. */
    readonly name: string,
    /** The SQL expression of the key, with `$1`... referring to `params`. */
    readonly keySql: string,
    readonly params: readonly string[],
  ) {}

  /** A lock with a constant bigint key. */
  static fixed(name: string, key: bigint): AdvisoryLock {
    return new AdvisoryLock(name, '$1::bigint', [key.toString()]);
  }

  /** A lock whose key PostgreSQL derives from text (`hashtext`, `hashtextextended`). */
  static derived(name: string, keySql: string, params: readonly string[] = []): AdvisoryLock {
    return new AdvisoryLock(name, keySql, params);
  }
}

/** The fixed keys. Never change one: processes that disagree on a key do not exclude each other. */
export const ADVISORY_LOCK_KEYS = {
  /** "klmi": migrations at start-up; one instance migrates, the others wait (session). */
  migrations: 0x6b6c6d69n,
  /** "kced": appends to the audit hash chain, so `seq` is gapless (transaction). */
  auditChain: 1801676132n,
  /** "kcee": withdrawal policy writers and the first-read seed, so versions are gapless (transaction). */
  withdrawalPolicy: 1801676133n,
  /** "kcef": the withdrawal executor, one at a time (session, with a fencing token beside it). */
  withdrawalExecutor: 1801676134n,
  /** Ledger writers, which makes `ledger_seq` commit-ordered (transaction). */
  ledgerWrites: 7243116520n,
} as const;

/** A job's key: the first 8 bytes of SHA-256("klear-job:<name>") as a signed 64-bit integer. */
export function jobLockKey(job: string): bigint {
  return createHash('sha256').update(`klear-job:${job}`).digest().readBigInt64BE(0);
}

/** Every advisory lock of the product. */
export const AdvisoryLocks = {
  migrations: AdvisoryLock.fixed('migrations', ADVISORY_LOCK_KEYS.migrations),
  auditChain: AdvisoryLock.fixed('audit chain', ADVISORY_LOCK_KEYS.auditChain),
  withdrawalPolicy: AdvisoryLock.fixed('withdrawal policy', ADVISORY_LOCK_KEYS.withdrawalPolicy),
  withdrawalExecutor: AdvisoryLock.fixed('withdrawal executor', ADVISORY_LOCK_KEYS.withdrawalExecutor),
  ledgerWrites: AdvisoryLock.fixed('ledger writes', ADVISORY_LOCK_KEYS.ledgerWrites),
  /** The CLI's admin bootstrap: two concurrent bootstraps never make more than two admins (transaction). */
  adminBootstrap: AdvisoryLock.derived('admin bootstrap', `hashtext('klear-admin-bootstrap')`),
  /** Incremental audit checkpoints: concurrent GET /audit readers record one checkpoint, not one each (transaction). */
  auditCheckpoint: AdvisoryLock.derived('audit checkpoint', `hashtext('klear-audit-checkpoint')`),
  /**
   * Klear obligation writers (upsertObligation, from its first statement to commit): the latest cycle's
   * subtrader figures are refreshed by one such transaction after another, the later seeing the earlier's rows (transaction).
   */
  obligationWrites: AdvisoryLock.derived('obligation writes', `hashtext('klear-obligation-writes')`),
  /** One scheduled job (or the notification sender's batch): one run at a time across processes (session). */
  job: (name: string) => AdvisoryLock.fixed(`job ${name}`, jobLockKey(name)),
  /** One day's export files: concurrent builds get distinct versions (transaction). */
  exportFile: (settlementDate: string) =>
    AdvisoryLock.derived(`export file ${settlementDate}`, `hashtext('export_file:' || $1)`, [settlementDate]),
  /**
   * One month's retention step (archive, drop, restore): a second retention run waits for the first's
   * and then finds the month where the first left it (transaction).
   */
  retentionMonth: (month: string) => AdvisoryLock.derived(`retention ${month}`, `hashtextextended('retention:' || $1, 0)`, [month]),
  /** One reconciliation scope: a second run waits for the first and sees its breaks (session). */
  reconciliationScope: (scopeKey: string) =>
    AdvisoryLock.derived(`reconciliation ${scopeKey}`, `hashtextextended('reconciliation:' || $1, 0)`, [scopeKey]),
} as const;

/** Anything that runs SQL with parameters: a TypeORM EntityManager or QueryRunner, a pg Client. */
export interface SqlRunner {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/** The first row of an answer, whether TypeORM's (an array of rows) or node-postgres's (`{ rows }`). */
function firstRow<T>(answer: unknown): T {
  const rows = Array.isArray(answer) ? answer : (answer as { rows: unknown[] }).rows;
  return rows[0] as T;
}

/**
 * The call taking the lock, for a statement that does more in the same round trip:
 * `SELECT ${call.sql}, ...` with `call.params` (the lock's parameters come first).
 */
export function advisoryLockCall(
  fn: 'pg_advisory_xact_lock' | 'pg_advisory_lock' | 'pg_try_advisory_lock' | 'pg_advisory_unlock',
  lock: AdvisoryLock,
): { sql: string; params: string[] } {
  return { sql: `${fn}(${lock.keySql})`, params: [...lock.params] };
}

/** Waits for the lock, held until the transaction ends. Call inside a transaction. */
export async function lockForTransaction(runner: SqlRunner, lock: AdvisoryLock): Promise<void> {
  const call = advisoryLockCall('pg_advisory_xact_lock', lock);
  await runner.query(`SELECT ${call.sql}`, call.params);
}

/** Waits for the lock, held by the session until `unlockSession` or the connection ends. */
export async function lockForSession(runner: SqlRunner, lock: AdvisoryLock): Promise<void> {
  const call = advisoryLockCall('pg_advisory_lock', lock);
  await runner.query(`SELECT ${call.sql}`, call.params);
}

/** Takes the session lock if it is free: true when taken, false when another session holds it. */
export async function tryLockForSession(runner: SqlRunner, lock: AdvisoryLock): Promise<boolean> {
  const call = advisoryLockCall('pg_try_advisory_lock', lock);
  return firstRow<{ locked: boolean }>(await runner.query(`SELECT ${call.sql} AS locked`, call.params)).locked;
}

/** Releases a session lock taken by this session. */
export async function unlockSession(runner: SqlRunner, lock: AdvisoryLock): Promise<void> {
  const call = advisoryLockCall('pg_advisory_unlock', lock);
  await runner.query(`SELECT ${call.sql}`, call.params);
}

/**
 * A SQL condition true when this session holds the fixed-key session lock: pg_locks shows a bigint
 * advisory key as (classid = high 32 bits, objid = low 32 bits, objsubid = 1). Checked after taking a
 * lock, it tells a transaction-mode pooler (which moves statements between sessions) from a real session.
 */
export function heldByThisSessionSql(key: bigint): string {
  return `EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
  AND classid::bigint = ${(key >> 32n).toString()} AND objid::bigint = ${(key & 0xffff_ffffn).toString()} AND objsubid = 1)`;
}
