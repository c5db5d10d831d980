import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AppConfig } from '@app/config';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { ADVISORY_LOCK_KEYS } from '@app/db';
import { ExecutorLeaseRepository, ExecutorNeedsSessionPooling } from '@app/withdrawals';
import { until } from '../support/poll';
import { startTestPooler, type TestPooler } from '../support/transaction-pooler';

// Issue 13: a session advisory lock means nothing behind a transaction-mode pooler (each statement may
// run on another server session), so the executor must refuse to start there, and work behind a
// session-mode pooler or directly.
const AT = new Date('2026-01-05T09:00:00Z');
const leases = (url: string) => new ExecutorLeaseRepository({ database: { url } } as unknown as AppConfig);

let db: TestDatabase;
let transactionMode: TestPooler;
let sessionMode: TestPooler;
beforeAll(async () => {
  db = await createTestDatabase();
  transactionMode = await startTestPooler(db.url, { backends: 2 });
  sessionMode = await startTestPooler(db.url, { backends: 1 });
});
afterAll(async () => {
  await transactionMode?.close();
  await sessionMode?.close();
  await db?.drop();
});

const fenceToken = async () =>
  ((await db.dataSource.query('SELECT token::text AS token FROM withdrawal_executor_fence WHERE id = 1')) as Array<{ token: string }>)[0]
    .token;
const lockHolders = async () =>
  Number(
    (
      (await db.dataSource.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid::bigint = $1`, [
        (ADVISORY_LOCK_KEYS.withdrawalExecutor & 0xffff_ffffn).toString(),
      ])) as Array<{ n: number }>
    )[0].n,
  );

describe('the withdrawal executor and connection poolers', () => {
  it('the test pooler in transaction mode does run consecutive statements on different server sessions', async () => {
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: transactionMode.url });
    await client.connect();
    try {
      const first = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      const second = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      expect(first).not.toBe(second);
      // A transaction stays on one session.
      await client.query('BEGIN');
      const inside = [
        (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid,
        (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid,
      ];
      await client.query('COMMIT');
      expect(inside[0]).toBe(inside[1]);
    } finally {
      await client.end();
    }
  });

  it('refuses to start behind a transaction-mode pooler: no lease, no new fencing token', async () => {
    const before = await fenceToken();
    await expect(leases(transactionMode.url).acquire('behind-transaction-pooler', AT)).rejects.toBeInstanceOf(ExecutorNeedsSessionPooling);
    await expect(leases(transactionMode.url).acquire('behind-transaction-pooler', AT)).rejects.toMatchObject({
      code: 'WITHDRAWAL_EXECUTOR_NEEDS_SESSION_POOLING',
      message: expect.stringContaining('session-mode pooler'),
    });
    expect(await fenceToken()).toBe(before);
    // The refused executor leaves no lock behind (its pooler sessions closed with it).
    await until("the refused executor's lock released", lockHolders, (n) => n === 0, 10_000, 25);
  });

  it('starts behind a session-mode pooler and directly, each lease with a newer fencing token', async () => {
    const before = BigInt(await fenceToken());
    const pooled = await leases(sessionMode.url).acquire('behind-session-pooler', AT);
    expect(pooled).not.toBeNull();
    expect(BigInt(pooled!.token)).toBe(before + 1n);
    // One executor at a time: a second one gets no lease while the first holds it.
    expect(await leases(db.url).acquire('direct', AT)).toBeNull();
    await pooled!.release();
    const direct = await leases(db.url).acquire('direct', AT);
    expect(BigInt(direct!.token)).toBe(before + 2n);
    await direct!.release();
  });
});
