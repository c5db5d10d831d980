import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { ADVISORY_LOCK_KEYS, AdvisoryLocks, dedicatedPgClient, heldByThisSessionSql, tryLockForSession, unlockSession } from '@app/db';
import type pg from 'pg';
import { ExecutorFenced, ExecutorNeedsSessionPooling } from './withdrawal-errors';

/** The executor's session lock (one executor at a time) is held by the session this SQL runs in. */
const HELD_BY_THIS_SESSION = heldByThisSessionSql(ADVISORY_LOCK_KEYS.withdrawalExecutor);

/**
 * The withdrawal executor's ownership for one run: a session advisory lock on a dedicated connection
 * (so that a dead process or a dropped connection frees it at once) and the fencing token taken with
 * it. Losing the connection marks the lease lost; the token is what every write of the executor is
 * checked against (WithdrawalRepository.fencedTransaction), and the record of a POST leaving is
 * written on this very connection, so that it commits only while this session still holds the lock
 * AND the token is still the newest one (see recordPosting).
 */
export class ExecutorLease {
  private lostReason: string | null = null;

  constructor(
    private readonly client: pg.Client,
    readonly token: string,
    readonly backendPid: number,
  ) {
    client.on('error', (error) => this.markLost(`lock connection failed: ${error.message}`));
    client.on('end', () => this.markLost('lock connection closed'));
  }

  get lost(): boolean {
    return this.lostReason !== null;
  }

  private markLost(reason: string): void {
    this.lostReason ??= reason;
  }

  /** Throws ExecutorFenced once the lock's connection is gone: the executor stops before its next step. */
  assertHeld(): void {
    if (this.lostReason !== null) throw new ExecutorFenced(this.token, this.lostReason);
  }

  /**
   * "Posting now", in one statement on the lock's own connection: the attempt gets posted_at only if
   * this session still holds the advisory lock and the fence row still holds this token (read FOR
   * SHARE, so that a takeover waits for it or it sees the takeover). Throws ExecutorFenced otherwise,
   * or when the connection is gone: then nothing may be sent.
   */
  async recordPosting(attemptId: string, at: Date): Promise<void> {
    this.assertHeld();
    let rows: Array<{ id: string }>;
    try {
      const result = await this.client.query<{ id: string }>(
        `WITH fence AS (SELECT 1 FROM withdrawal_executor_fence WHERE id = 1 AND token = $2::bigint FOR SHARE)
         UPDATE withdrawal_attempt SET posted_at = $3, fencing_token = $2::bigint
          WHERE id = $1 AND state = 'submitting' AND posted_at IS NULL
            AND EXISTS (SELECT 1 FROM fence) AND ${HELD_BY_THIS_SESSION}
          RETURNING id`,
        [attemptId, this.token, at],
      );
      rows = result.rows;
    } catch (error) {
      this.markLost(`lock connection failed: ${error instanceof Error ? error.message : String(error)}`);
      throw new ExecutorFenced(this.token, this.lostReason!);
    }
    if (rows.length !== 1) {
      this.markLost("the fencing token or the lock is no longer this executor's (another executor took over)");
      throw new ExecutorFenced(this.token, this.lostReason!);
    }
  }

  async release(): Promise<void> {
    if (!this.lost) await unlockSession(this.client, AdvisoryLocks.withdrawalExecutor).catch(() => undefined);
    this.markLost('released');
    // Ending the session frees the lock even when the unlock could not run.
    await this.client.end().catch(() => undefined);
  }
}

/** Takes the executor's lock and a new fencing token. */
@Injectable()
export class ExecutorLeaseRepository {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /**
   * The lease, or null when another executor holds the lock. Refuses (ExecutorNeedsSessionPooling)
   * when the lock is not seen held by the session that took it: behind a transaction-mode pooler
   * statements of one client land on different server sessions, and a session lock means nothing.
   */
  async acquire(holder: string, at: Date): Promise<ExecutorLease | null> {
    if (!this.config.database.url) throw new Error('database url not resolved before bootstrap');
    // A dropped connection must not crash the process: the lease notices (see ExecutorLease).
    const client = dedicatedPgClient(
      { connectionString: this.config.database.url, application_name: 'klear-withdrawal-executor', connectionTimeoutMillis: 10_000 },
      'withdrawal executor lock',
    );
    await client.connect();
    try {
      if (!(await tryLockForSession(client, AdvisoryLocks.withdrawalExecutor))) {
        await client.end().catch(() => undefined);
        return null;
      }
      const check = await client.query<{ held: boolean; pid: number }>(`SELECT ${HELD_BY_THIS_SESSION} AS held, pg_backend_pid() AS pid`);
      if (!check.rows[0].held) throw new ExecutorNeedsSessionPooling();
      // Waits for every fenced statement of the previous holder still in flight (FOR SHARE), then
      // makes them all fail from now on.
      const bumped = await client.query<{ token: string }>(
        'UPDATE withdrawal_executor_fence SET token = token + 1, holder = $1, acquired_at = $2 WHERE id = 1 RETURNING token::text AS token',
        [holder, at],
      );
      return new ExecutorLease(client, bumped.rows[0].token, check.rows[0].pid);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }
}
