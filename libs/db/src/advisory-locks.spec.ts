import { describe, expect, it } from '@jest/globals';
import { ADVISORY_LOCK_KEYS, advisoryLockCall, AdvisoryLocks, heldByThisSessionSql, jobLockKey, tryLockForSession } from './advisory-locks';

// Processes of different versions run side by side during a deploy: a key that changed would let two
// of them hold "the same" lock at once. These values are the keys every release so far has used.
describe('advisory lock keys', () => {
  it('keep the values running systems use', () => {
    expect(ADVISORY_LOCK_KEYS).toEqual({
      migrations: 1802268009n,
      auditChain: 1801676132n,
      withdrawalPolicy: 1801676133n,
      withdrawalExecutor: 1801676134n,
      ledgerWrites: 7243116520n,
    });
  });

  it('derive a job key from SHA-256 of "klear-job:<name>", as a signed 64-bit integer', () => {
    expect(jobLockKey('settlement_balance')).toBe(5544652776195163209n);
    expect(jobLockKey('notification_sender.batch')).toBe(-7339310507278773324n);
    expect(AdvisoryLocks.job('withdrawal_executor').params).toEqual(['-5661441413288579077']);
  });

  it('let PostgreSQL derive the keys of the admin bootstrap, obligation writes, an export day and a reconciliation scope, as before', () => {
    expect(advisoryLockCall('pg_advisory_xact_lock', AdvisoryLocks.adminBootstrap)).toEqual({
      sql: `pg_advisory_xact_lock(hashtext('klear-admin-bootstrap'))`,
      params: [],
    });
    expect(advisoryLockCall('pg_advisory_xact_lock', AdvisoryLocks.exportFile('2026-03-16'))).toEqual({
      sql: `pg_advisory_xact_lock(hashtext('export_file:' || $1))`,
      params: ['2026-03-16'],
    });
    expect(advisoryLockCall('pg_advisory_xact_lock', AdvisoryLocks.obligationWrites)).toEqual({
      sql: `pg_advisory_xact_lock(hashtext('klear-obligation-writes'))`,
      params: [],
    });
    expect(advisoryLockCall('pg_advisory_xact_lock', AdvisoryLocks.retentionMonth('2026-01'))).toEqual({
      sql: `pg_advisory_xact_lock(hashtextextended('retention:' || $1, 0))`,
      params: ['2026-01'],
    });
    expect(advisoryLockCall('pg_advisory_lock', AdvisoryLocks.reconciliationScope('cycle/x/Crypto'))).toEqual({
      sql: `pg_advisory_lock(hashtextextended('reconciliation:' || $1, 0))`,
      params: ['cycle/x/Crypto'],
    });
  });

  it('pass a fixed key as a bigint parameter, and find it in pg_locks by its two 32-bit halves', () => {
    expect(advisoryLockCall('pg_try_advisory_lock', AdvisoryLocks.withdrawalExecutor)).toEqual({
      sql: 'pg_try_advisory_lock($1::bigint)',
      params: ['1801676134'],
    });
    expect(heldByThisSessionSql(ADVISORY_LOCK_KEYS.ledgerWrites)).toContain(
      'classid::bigint = 1 AND objid::bigint = 2948149224 AND objsubid = 1',
    );
  });
});

describe('tryLockForSession', () => {
  it('reads the answer of a TypeORM runner (rows) and of a pg client ({ rows })', async () => {
    const typeorm = { query: async () => [{ locked: true }] };
    const pg = { query: async () => ({ rows: [{ locked: false }] }) };
    expect(await tryLockForSession(typeorm, AdvisoryLocks.migrations)).toBe(true);
    expect(await tryLockForSession(pg, AdvisoryLocks.migrations)).toBe(false);
  });
});
