// Database roles (docs/security.md): migrations run as a schema owner, the API as an application role
// that owns nothing. The application role's limits are proven against the real PostgreSQL server.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import pg from 'pg';
import request from 'supertest';
import { UsersService } from '@app/auth';
import { RetentionRepository } from '@app/retention';
import { DataSource } from 'typeorm';
import { testAdminUrl } from '@app/testing';
import { createApiApplication } from '@apps/api';
import { testConfig } from '../support/api-world';
import { marginRequirement } from '../ledger/ledger-factory';

const suffix = randomBytes(4).toString('hex');
const owner = { name: `klear_owner_${suffix}`, password: randomBytes(12).toString('hex') };
const app = { name: `klear_app_${suffix}`, password: randomBytes(12).toString('hex') };
const database = `klear_roles_${suffix}`;

const urlAs = (role: { name: string; password: string }) => {
  const u = new URL(testAdminUrl());
  u.username = role.name;
  u.password = role.password;
  u.pathname = `/${database}`;
  return u.toString();
};

async function asAdmin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: testAdminUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

let api: INestApplication;
let appClient: pg.Client;
let adminToken: string;

beforeAll(async () => {
  await asAdmin(`CREATE ROLE ${owner.name} LOGIN PASSWORD '${owner.password}' NOSUPERUSER NOCREATEDB NOCREATEROLE`);
  await asAdmin(`CREATE ROLE ${app.name} LOGIN PASSWORD '${app.password}' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT`);
  await asAdmin(`CREATE DATABASE ${database} OWNER ${owner.name}`);
  // The API connects as the application role and migrates through the owner's URL.
  api = await createApiApplication(testConfig({ DATABASE_URL: urlAs(app), DATABASE_MIGRATION_URL: urlAs(owner) }), { silent: true });
  await api.init();
  const users = api.get(UsersService);
  const admin = await users.createUser('roles-admin', ['admin', 'operator'], 'test');
  adminToken = (await users.issueToken(admin.id, 'test', 'test')).token;
  appClient = new pg.Client({ connectionString: urlAs(app) });
  await appClient.connect();
}, 60_000);

afterAll(async () => {
  await appClient?.end().catch(() => undefined);
  await api?.close().catch(() => undefined);
  await asAdmin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await asAdmin(`DROP ROLE IF EXISTS ${app.name}`);
  await asAdmin(`DROP ROLE IF EXISTS ${owner.name}`);
});

async function refusal(sql: string): Promise<string | null> {
  try {
    await appClient.query(sql);
    return null;
  } catch (error) {
    return (error as { code?: string }).code ?? 'error';
  }
}

describe('the application role', () => {
  it('runs the product: the API migrated through the owner and works as the application role', async () => {
    const http = () => request(api.getHttpServer());
    const created = await http()
      .post('/users')
      .set('Authorization', `Bearer ${adminToken}`)
      .send({ name: 'roles-viewer', roles: ['viewer'] });
    expect(created.status).toBe(201);
    const posted = await http()
      .post('/ledger/entries')
      .set('Authorization', `Bearer ${adminToken}`)
      .send({ entries: [marginRequirement('ROLES-1', 'ST-1', 100n, '2026-11-05T21:00:00Z')] });
    expect(posted.status).toBe(200);
    const audit = await http().get('/audit').set('Authorization', `Bearer ${adminToken}`);
    expect(audit.body.chain.ok).toBe(true);
    const [{ current_user }] = (await appClient.query('SELECT current_user')).rows as Array<{ current_user: string }>;
    expect(current_user).toBe(app.name);
  });

  it('owns no table, sequence, function or schema', async () => {
    const { rows } = await appClient.query(
      `SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid AND relpersistence <> 't')::int AS relations,
              (SELECT count(*) FROM pg_proc WHERE proowner = r.oid)::int AS functions,
              (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid AND nspname NOT LIKE 'pg_temp%' AND nspname NOT LIKE 'pg_toast_temp%')::int AS schemas
         FROM pg_roles r WHERE r.rolname = current_user`,
    );
    expect(rows[0]).toEqual({ relations: 0, functions: 0, schemas: 0 });
  });

  it('cannot ALTER, DROP, TRUNCATE, DISABLE TRIGGER, SET session_replication_role, nor UPDATE or DELETE the audit log', async () => {
    const attempts = {
      disableTrigger: 'ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete',
      disableAllTriggers: 'ALTER TABLE journal_posting DISABLE TRIGGER ALL',
      alterTable: 'ALTER TABLE journal_entry ADD COLUMN sneaky text',
      dropTable: 'DROP TABLE ledger_import',
      truncateAudit: 'TRUNCATE audit_log',
      truncateLedger: 'TRUNCATE journal_posting CASCADE',
      replicationRole: 'SET session_replication_role = replica',
      updateAudit: `UPDATE audit_log SET actor = 'mallory'`,
      deleteAudit: 'DELETE FROM audit_log',
      updateArchive: `UPDATE klear_response_archive SET body = ''`,
      createTable: 'CREATE TABLE public.backdoor (x int)',
      createFunction: `CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1'`,
    };
    // A role cannot grant itself what it was not given: PostgreSQL only warns, and nothing changes.
    await appClient.query(`GRANT TRUNCATE, UPDATE, DELETE ON audit_log TO ${app.name}`);
    const outcomes: Record<string, string | null> = {};
    for (const [name, sql] of Object.entries(attempts)) outcomes[name] = await refusal(sql);
    expect(outcomes).toEqual(Object.fromEntries(Object.keys(attempts).map((k) => [k, '42501'])));
  });

  it('cannot read or write a partition directly, made by the migrations or later, only through its partitioned table', async () => {
    // A row written straight into a partition skips the partitioned table's statement triggers: the
    // ledger's per-statement posting check and the summaries reconciliation reads.
    await appClient.query(`SELECT partition_ensure_month('2031-03-04T21:00:00Z')`);
    const { rows } = (await appClient.query(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relispartition AND c.relkind = 'r' AND c.relname ~ '^(journal_posting|klear_settlement_detail)_' ORDER BY 1`,
    )) as { rows: Array<{ name: string }> };
    const names = rows.map((r) => r.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'journal_posting_default',
        'journal_posting_no_cycle',
        'journal_posting_p203103',
        'klear_settlement_detail_default',
        'klear_settlement_detail_p203103',
      ]),
    );
    const outcomes: Record<string, string | null> = {};
    for (const name of names) {
      outcomes[`insert ${name}`] = await refusal(`INSERT INTO ${name} DEFAULT VALUES`);
      outcomes[`select ${name}`] = await refusal(`SELECT 1 FROM ${name} LIMIT 1`);
    }
    expect(outcomes).toEqual(Object.fromEntries(Object.keys(outcomes).map((k) => [k, '42501'])));
    // Through the partitioned table the same role reads (and the ledger writes, first test) as before,
    // retention's count of a month's rows included.
    expect((await appClient.query(`SELECT count(*)::int AS n FROM journal_posting`)).rows[0].n).toBe(2);
    const dataSource = api.get(DataSource);
    const counts = await dataSource.transaction((m) => new RetentionRepository(dataSource).rowCounts(m, '2026-11'));
    expect(counts.find((c) => c.table === 'journal_posting')).toEqual({ table: 'journal_posting', rows: 2 });
  });

  it("resolves tables, in every function of the schema, in public before the session's temporary tables", async () => {
    // A temporary table named like a ledger table would otherwise be what a trigger or SECURITY DEFINER function reads.
    const { rows } = (await appClient.query(
      `SELECT p.oid::regprocedure::text AS fn, coalesce(array_to_string(p.proconfig, ';'), 'none') AS config
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname IN ('public', 'archive') AND p.prokind = 'f'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
          -- SQL functions inlined into their caller resolve names with the caller's path (migration FunctionsResolveOwnTables).
          AND NOT (p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'sql') AND p.provolatile <> 'v' AND NOT p.prosecdef)
        ORDER BY 1`,
    )) as { rows: Array<{ fn: string; config: string }> };
    expect(rows.length).toBeGreaterThan(20);
    expect(rows.filter((r) => r.config !== 'search_path=public, pg_temp')).toEqual([]);
  });

  it("finds a month's partitions and the latest figures' tables in public, whatever temporary tables the session holds", async () => {
    // A name public does not hold (a month not made yet) or a function without a path of its own (the
    // latest figures, inlined into their callers) would otherwise resolve to the session's temporary tables.
    const figures = async () =>
      (await appClient.query(`SELECT subtrader_id, cycle FROM klear_subtrader_latest_figures_recomputed() ORDER BY 1`)).rows as unknown[];
    const before = await figures();
    const temporary = ['klear_obligation', 'klear_settlement_summary', 'journal_posting_p203305', 'klear_settlement_detail_p203305'];
    await appClient.query(`CREATE TEMP TABLE klear_obligation (id text, execution_time timestamptz)`);
    await appClient.query(
      `CREATE TEMP TABLE klear_settlement_summary (obligation_id text, subtrader_id text, pnl_centicents bigint, fees_centicents bigint, total_centicents bigint)`,
    );
    await appClient.query(`INSERT INTO klear_obligation VALUES ('forged', '2040-01-01T21:00:00Z')`);
    await appClient.query(`INSERT INTO klear_settlement_summary VALUES ('forged', 'ST-FORGED', 1000000, 0, 1000000)`);
    await appClient.query(`CREATE TEMP TABLE journal_posting_p203305 (x int)`);
    await appClient.query(`CREATE TEMP TABLE klear_settlement_detail_p203305 (x int)`);
    try {
      expect(await figures()).toEqual(before);
      // May 2033 has no partitions yet: all five are made, none taken to exist already.
      expect((await appClient.query(`SELECT partition_ensure_month('2033-05-04T21:00:00Z') AS n`)).rows[0].n).toBe(5);
      const made = await appClient.query(
        `SELECT to_regclass('public.journal_posting_p203305') IS NOT NULL AS postings, to_regclass('public.klear_settlement_detail_p203305') IS NOT NULL AS details`,
      );
      expect(made.rows[0]).toEqual({ postings: true, details: true });
    } finally {
      for (const table of temporary) await appClient.query(`DROP TABLE IF EXISTS pg_temp.${table}`);
    }
  });

  it('still reads and inserts where the product needs it, temporary tables included', async () => {
    expect((await appClient.query('SELECT count(*)::int AS n FROM journal_entry')).rows[0].n).toBe(1);
    await appClient.query('BEGIN');
    await appClient.query('CREATE TEMP TABLE scratch (x int) ON COMMIT DROP');
    await appClient.query('COMMIT');
  });
});
