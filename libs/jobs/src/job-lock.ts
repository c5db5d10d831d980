import type pg from 'pg';
import { AdvisoryLocks, dedicatedPgClient, tryLockForSession, unlockSession } from '@app/db';

/** Thrown by a write of a run whose job lock is gone: another run may be writing the same rows. */
export class JobLockLostError extends Error {
  override readonly name = 'JobLockLostError';
}

/**
 * A session-level `pg_try_advisory_lock` on its own connection, held for the whole run: when the
 * process dies the connection drops and PostgreSQL releases the lock by itself. When only that
 * connection dies (terminated, network), the lock is released too while the run goes on: `signal`
 * aborts and `confirmHeld` throws, so the run stops writing before a second run starts beside it.
 */
export class JobAdvisoryLock {
  private client: pg.Client | undefined;
  private lostReason: string | null = null;
  private readonly lostController = new AbortController();

  constructor(
    private readonly databaseUrl: string,
    private readonly job: string,
  ) {}

  async tryAcquire(): Promise<boolean> {
    // A dropped connection must not crash the process: the lock is then lost, and the run with it.
    const client = dedicatedPgClient(
      { connectionString: this.databaseUrl, application_name: `klear-job-lock:${this.job}`, connectionTimeoutMillis: 5000 },
      `job lock ${this.job}`,
      (error) => this.markLost(`the job lock's connection was lost (${error.message})`),
    );
    client.on('end', () => void (this.client && this.markLost("the job lock's connection closed")));
    await client.connect();
    try {
      if (await tryLockForSession(client, AdvisoryLocks.job(this.job))) {
        this.client = client;
        return true;
      }
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    await client.end().catch(() => undefined);
    return false;
  }

  /**
   * Why the lock is no longer held while the run goes on (its connection died: PostgreSQL released the
   * lock and another worker may take it), or null while it is held.
   */
  get lost(): string | null {
    return this.lostReason;
  }

  /** Aborted once the lock is known lost. */
  get signal(): AbortSignal {
    return this.lostController.signal;
  }

  /**
   * Asks the lock's own session whether it is alive (a session advisory lock lasts as long as its
   * session): throws JobLockLostError when it is not. Called before each write batch of a run.
   */
  async confirmHeld(): Promise<void> {
    const client = this.client;
    if (!this.lostReason && client) {
      await client
        .query('SELECT 1')
        .catch((error: unknown) =>
          this.markLost(`the job lock's connection was lost (${error instanceof Error ? error.message : String(error)})`),
        );
    }
    if (!client && !this.lostReason) throw new JobLockLostError('the job lock is not held');
    if (this.lostReason) throw new JobLockLostError(this.lostReason);
  }

  private markLost(reason: string): void {
    if (this.lostReason) return;
    this.lostReason = reason;
    this.lostController.abort(new JobLockLostError(reason));
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    // Ending the session releases the lock even when the unlock query cannot run.
    await unlockSession(client, AdvisoryLocks.job(this.job)).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}
