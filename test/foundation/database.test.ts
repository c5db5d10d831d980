import { systemClock } from '@app/clock';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditService, verifyChainRows } from '@app/audit';
import { AuditLogEntry, createDataSource, runMigrationsLocked, schemaDrift } from '@app/db';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from '@app/testing';

describe('migrations', () => {
  it('apply to an empty database once, even when several instances start together', async () => {
    const empty = await createEmptyDatabase();
    const sources = [1, 2, 3].map(() => createDataSource({ url: empty.url, poolSize: 2 }));
    try {
      await Promise.all(sources.map((s) => s.initialize()));
      const applied = await Promise.all(sources.map((s) => runMigrationsLocked(s)));
      const total = applied.reduce((n, a) => n + a.length, 0);
      expect(total).toBe(sources[0].migrations.length);
      expect(applied.filter((a) => a.length > 0)).toHaveLength(1);
      const rows = (await sources[0].query('SELECT count(*)::int AS n FROM schema_migrations')) as Array<{ n: number }>;
      expect(rows[0].n).toBe(sources[0].migrations.length);
    } finally {
      await Promise.all(sources.filter((s) => s.isInitialized).map((s) => s.destroy()));
      await empty.drop();
    }
  });

  it('leave no drift between the entities and the migrated schema', async () => {
    const db = await createTestDatabase();
    try {
      const drift = await schemaDrift(db.dataSource);
      expect(drift.up).toEqual([]);
    } finally {
      await db.drop();
    }
  });

  it('drift is detected when the schema and the entities disagree', async () => {
    const db = await createTestDatabase();
    try {
      await db.dataSource.query('ALTER TABLE api_token DROP COLUMN last_used_at');
      const drift = await schemaDrift(db.dataSource);
      expect(drift.up.join('\n')).toMatch(/ALTER TABLE "api_token" ADD "last_used_at"/);
    } finally {
      await db.drop();
    }
  });
});

describe('audit log', () => {
  let db: TestDatabase;
  let audit: AuditService;

  beforeAll(async () => {
    db = await createTestDatabase();
    audit = new AuditService(db.dataSource, null, systemClock);
    for (let i = 0; i < 5; i++) {
      await audit.record({
        actor: 'alice',
        action: 'thing.move',
        entityType: 'thing',
        entityId: `t${i}`,
        fromState: 'a',
        toState: 'b',
        details: { amount_centicents: 10n ** 15n + BigInt(i), z: 1, a: [1, 2] },
        requestBody: { i },
      });
    }
  });
  afterAll(async () => db.drop());

  it('chains every row to the previous one and verifies', async () => {
    const result = await audit.verify();
    expect(result).toMatchObject({ ok: true, checked: 5, firstBrokenSeq: null, problem: null, macs: { checked: false } });
    const rows = await db.dataSource.getRepository(AuditLogEntry).find({ order: { seq: 'ASC' } });
    expect(rows.map((r) => r.seq)).toEqual(['1', '2', '3', '4', '5']);
    expect(rows[1].prevHash).toBe(rows[0].hash);
    expect(rows[0].details).toEqual({ a: [1, 2], amount_centicents: '1000000000000000', z: 1 });
  });

  it('keeps a gapless chain under concurrent appends', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => audit.record({ actor: 'bob', action: 'x', entityType: 'thing', entityId: `c${i}` })),
    );
    const result = await audit.verify({ pageSize: 7 });
    expect(result.ok).toBe(true);
    expect(result.checked).toBe(25);
  });

  it('refuses to append inside a repeatable-read transaction, whose snapshot may not hold the latest row of the chain', async () => {
    const before = await db.count('audit_log');
    await expect(
      db.dataSource.transaction('REPEATABLE READ', (tx) =>
        audit.record({ actor: 'carol', action: 'x', entityType: 'thing', entityId: 'rr' }, tx),
      ),
    ).rejects.toThrow(/READ COMMITTED/);
    expect(await db.count('audit_log')).toBe(before);
  });

  it('is refused UPDATE, DELETE and TRUNCATE by the database itself', async () => {
    await expect(db.dataSource.query(`UPDATE audit_log SET actor = 'mallory' WHERE seq = 2`)).rejects.toThrow(
      /append-only: UPDATE refused/,
    );
    await expect(db.dataSource.query(`DELETE FROM audit_log WHERE seq = 2`)).rejects.toThrow(/append-only: DELETE refused/);
    await expect(db.dataSource.query(`TRUNCATE audit_log`)).rejects.toThrow(/append-only: TRUNCATE refused/);
    expect(await db.count('audit_log')).toBe(25);
  });

  it('verification finds the first row edited behind the triggers', async () => {
    const rows = await db.dataSource.getRepository(AuditLogEntry).find({ order: { seq: 'ASC' } });
    const tampered = rows.map((r) => (r.seq === '3' ? { ...r, actor: 'mallory' } : r));
    expect(verifyChainRows(tampered)).toMatchObject({ ok: false, firstBrokenSeq: '3', problem: expect.stringContaining('edited') });
    const missing = rows.filter((r) => r.seq !== '4');
    expect(verifyChainRows(missing)).toMatchObject({ ok: false, firstBrokenSeq: '5' });

    // A superuser who disables the trigger and edits a row is still caught by verify().
    await db.dataSource.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete');
    await db.dataSource.query(`UPDATE audit_log SET reason = 'backdated' WHERE seq = 7`);
    await db.dataSource.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete');
    expect(await audit.verify()).toMatchObject({ ok: false, firstBrokenSeq: '7', checked: 6 });
  });
});
