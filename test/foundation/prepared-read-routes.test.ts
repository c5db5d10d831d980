import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditService } from '@app/audit';
import { systemClock } from '@app/clock';
import { createDataSource } from '@app/db';
import { ObligationRepository, SubtraderRepository } from '@app/ingestion';
import { LedgerRepository } from '@app/ledger';
import { Keyring } from '@app/secrets';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import type { DataSource } from 'typeorm';
import { recordRows } from '../support/audit-chain';
import { startTestPooler } from '../support/transaction-pooler';

// Issue 18: GET /obligations and GET /subtraders spent more time having their statement planned than
// running it (6.3 ms of planning for 2.3 ms of execution, 10-cycle growth world). Their statements are
// named prepared statements (libs/db/src/prepared-read.ts): parsed once per connection, then run on the
// server's cached generic plan. Asserted on the server's own record of the session's statements.
describe('prepared read-route statements', () => {
  let db: TestDatabase;
  let single: DataSource;
  beforeAll(async () => {
    db = await createTestDatabase();
    // One connection: every call below and the pg_prepared_statements read share its session.
    single = createDataSource({ url: db.url, poolSize: 1, applicationName: 'klear-test-prepared' });
    await single.initialize();
  });
  afterAll(async () => {
    await single?.destroy();
    await db?.drop();
  });

  const prepared = async () =>
    (await single.query(
      `SELECT name, statement, generic_plans::int AS generic, custom_plans::int AS custom FROM pg_prepared_statements WHERE name LIKE 'klear\\_%' ORDER BY statement`,
    )) as Array<{ name: string; statement: string; generic: number; custom: number }>;

  it('GET /obligations: one statement per filter shape, prepared once, then run without planning', async () => {
    const obligations = new ObligationRepository(single);
    for (let i = 0; i < 8; i++) await obligations.list({ limit: 51 });
    for (let i = 0; i < 3; i++)
      await obligations.list({ limit: 51, assetClass: 'Crypto', after: { executionTime: '2026-11-20T22:00:00Z', id: 'x' } });
    const statements = await prepared();
    expect(statements.map((s) => s.statement.trim().slice(0, 13))).toEqual(['SELECT o.id, ', 'SELECT o.id, ']);
    const [plain, filtered] = statements.sort((a, b) => a.statement.length - b.statement.length);
    // Its limit a constant, the unfiltered list has no parameter: the cached generic plan from the first call.
    expect([plain.custom, plain.generic]).toEqual([0, 8]);
    expect(plain.statement).toContain('LIMIT 51');
    expect(plain.custom + plain.generic).toBe(8);
    expect(filtered.custom + filtered.generic).toBe(3);
    expect(filtered.name).not.toBe(plain.name);
  });

  it('GET /subtraders: the page statement, its limit a constant, runs on the cached generic plan', async () => {
    const subtraders = new SubtraderRepository(single);
    for (let i = 0; i < 8; i++) await subtraders.page({ limit: 51 });
    for (let i = 0; i < 8; i++) await subtraders.page({ limit: 51, after: 'ST-00050' });
    const page = (await prepared()).filter((s) => s.statement.trim().startsWith('WITH page AS MATERIALIZED'));
    const [first, next] = page.sort((a, b) => a.statement.length - b.statement.length);
    // With the limit a parameter the server planned every call afresh ([8 custom, 0 generic]): its generic
    // plan, costed for an unknown LIMIT, was the dearer one. The first page has no parameter left.
    expect([first.custom, first.generic]).toEqual([0, 8]);
    expect(first.statement).toContain('LIMIT 51)');
    // The next pages: five custom plans, then the cached generic one.
    expect([next.custom, next.generic]).toEqual([5, 3]);
  });

  it('any limit a client may send (1 to 500, plus the next-page probe) is one of seven statements a filter shape', async () => {
    const subtraders = new SubtraderRepository(single);
    for (let limit = 1; limit <= 501; limit++) await subtraders.page({ limit });
    const page = (await prepared()).filter(
      (s) => s.statement.trim().startsWith('WITH page AS MATERIALIZED') && !s.statement.includes('s.subtrader_id >'),
    );
    expect(page.map((s) => /LIMIT (\d+)\)/.exec(s.statement)![1]).sort((a, b) => Number(a) - Number(b))).toEqual([
      '2',
      '11',
      '26',
      '51',
      '101',
      '201',
      '501',
    ]);
  });

  it('GET /ledger/entries: each filter shape is a prepared statement of its own, naming only its filters', async () => {
    const ledger = new LedgerRepository(single);
    for (let i = 0; i < 6; i++) await ledger.listEntries({ limit: 51, maxPostings: 400 });
    for (let i = 0; i < 2; i++) await ledger.listEntries({ limit: 51, maxPostings: 400, subtraderId: 'ST-1', afterSeq: '10' });
    const entries = (await prepared()).filter((s) => s.statement.includes('FROM journal_posting p WHERE'));
    expect(entries.map((s) => s.custom + s.generic).sort()).toEqual([2, 6]);
    const filtered = entries.find((s) => s.custom + s.generic === 2)!;
    // No "$1 IS NULL OR ...": the subtrader's plan can use the subtrader index, whatever plan is cached.
    expect(filtered.statement).toContain('e.subtrader_id = $1');
    expect(entries.every((s) => !/\$\d+(::\w+)? IS NULL OR/.test(s.statement))).toBe(true);
  });

  it('behind a transaction-mode pooler (each statement on any of two server sessions) every read answers, unnamed after the first mismatch', async () => {
    const pooler = await startTestPooler(db.url, { backends: 2 });
    const pooled = createDataSource({ url: pooler.url, poolSize: 1, applicationName: 'klear-test-prepared-pooler' });
    await pooled.initialize();
    try {
      const direct = { obligations: new ObligationRepository(single), ledger: new LedgerRepository(single) };
      const through = { obligations: new ObligationRepository(pooled), ledger: new LedgerRepository(pooled) };
      const expected = [await direct.obligations.list({ limit: 5 }), await direct.ledger.listEntries({ limit: 5, maxPostings: 400 })];
      // Named statements alternate between two server sessions: without the fallback every other call
      // failed with 26000 "prepared statement ... does not exist" (a 500 on the route).
      // (Each statement several times in a row: the test pooler hands statements to its sessions in turn.)
      for (let i = 0; i < 4; i++) expect(await through.obligations.list({ limit: 5 })).toEqual(expected[0]);
      for (let i = 0; i < 4; i++) expect(await through.ledger.listEntries({ limit: 5, maxPostings: 400 })).toEqual(expected[1]);
      // GET /audit's verification reads every column as the server's text (wireText): unnamed, still text.
      const keyring = new Keyring(randomBytes(32));
      await recordRows(new AuditService(single, keyring, systemClock), 3);
      const pooledAudit = new AuditService(pooled, keyring, systemClock);
      for (let i = 0; i < 2; i++)
        expect(await pooledAudit.verifyFromCheckpoint()).toMatchObject({ ok: true, checked: 3, macs: { valid: 3 } });
      expect((await pooledAudit.newestWithChain(2)).rows.map((r) => [r.seq, r.occurredAt instanceof Date, r.entityId])).toEqual([
        ['3', true, 't2'],
        ['2', true, 't1'],
      ]);
    } finally {
      await pooled.destroy();
      await pooler.close();
    }
  });
});
