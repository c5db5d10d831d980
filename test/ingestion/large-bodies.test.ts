import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { balanceHistory, ContractWorld, obligationsAt } from './contract-klear-world';
import { IngestionWorld } from './ingestion-world';
import { openFilesUnder } from '../support/open-files';

const HOUR = 3_600_000;

let world: ContractWorld | IngestionWorld | undefined;
/** This test's KLEAR_SPOOL_DIR: nothing else spools there. */
let spoolDir: string;
beforeEach(() => {
  spoolDir = mkdtempSync(join(tmpdir(), 'klear-large-bodies-'));
});
afterEach(async () => {
  await world?.close();
  world = undefined;
  rmSync(spoolDir, { recursive: true, force: true });
});

/**
 * What is left of spooled bodies: files in the spool directory (none ever: they are unlinked at
 * creation) and this process's descriptors still open on them (Linux: /proc/self/fd).
 */
function spoolLeft(): { files: string[]; open: string[] } {
  const open = openFilesUnder(spoolDir).map((file) => file.target);
  return { files: readdirSync(spoolDir), open };
}

/**
 * Answers far larger than the client's in-memory cap (KLEAR_MAX_BUFFER_BYTES, 4 KiB here against
 * bodies of ~100 KiB): each streams to a spool file, into the archive and through the parser item by
 * item. What is stored, archived and reported is what a body held in memory gives.
 */
describe('Answer bodies larger than the in-memory cap', () => {
  jest.setTimeout(180_000);
  const CAP = 4_096;

  it('are archived byte for byte with their checksum and stored whole, and leave nothing behind (no file, no descriptor)', async () => {
    const contract = await ContractWorld.start({ KLEAR_MAX_BUFFER_BYTES: String(CAP), KLEAR_SPOOL_DIR: spoolDir });
    world = contract;
    contract.klear.balanceHistory = balanceHistory(1_200, HOUR);
    expect((await contract.run('balance_history', 'startup'))?.status).toBe('succeeded');

    const [stored] = await world.query<{ n: number; sum: string }>(
      `SELECT count(*)::int AS n, sum(balance_delta_centicents)::text AS sum FROM klear_balance_history`,
    );
    expect(stored).toEqual({ n: 1_200, sum: String(contract.klear.balanceHistory.reduce((s, e) => s + e.balance_delta_centicents, 0n)) });
    const archived = await contract.query<{ size: number; ok: boolean; entries: number }>(
      `SELECT octet_length(body) AS size, encode(sha256(body), 'hex') = sha256 AS ok, jsonb_array_length(convert_from(body, 'UTF8')::jsonb -> 'entries') AS entries
         FROM klear_response_archive WHERE endpoint = 'GET /margin/settlement_balance_history' ORDER BY id`,
    );
    expect(archived.map((a) => a.entries)).toEqual([500, 500, 200]);
    expect(archived.every((a) => a.ok)).toBe(true);
    // The smallest (200 entries) is still eight times the cap.
    expect(Math.min(...archived.map((a) => a.size))).toBeGreaterThan(8 * CAP);
    expect(spoolLeft()).toEqual({ files: [], open: [] });
  });

  it('that break the contract are archived whole from disk, fail the run, and leave nothing behind', async () => {
    const contract = await ContractWorld.start({ KLEAR_MAX_BUFFER_BYTES: String(CAP), KLEAR_SPOOL_DIR: spoolDir });
    world = contract;
    contract.klear.balanceHistory = balanceHistory(1_200, HOUR);
    // The 101st newest entry (entries[100] of the first page of 500) has a time that is not one.
    contract.klear.balanceHistory[1_099].created_ts = 'yesterday';
    const run = await contract.run('balance_history', 'startup');
    expect(run?.status).toBe('failed');
    expect(run?.error).toMatch(/entries\[100\]\.created_ts/);
    expect((await contract.query<{ n: number }>(`SELECT count(*)::int AS n FROM klear_balance_history`))[0].n).toBe(0);
    const archived = await contract.query<{ size: number; ok: boolean; entries: number }>(
      `SELECT octet_length(body) AS size, encode(sha256(body), 'hex') = sha256 AS ok, jsonb_array_length(convert_from(body, 'UTF8')::jsonb -> 'entries') AS entries
         FROM klear_response_archive WHERE endpoint = 'GET /margin/settlement_balance_history'`,
    );
    expect(archived).toEqual([{ size: expect.any(Number), ok: true, entries: 500 }]);
    expect(archived[0].size).toBeGreaterThan(8 * CAP);
    expect(spoolLeft()).toEqual({ files: [], open: [] });
  });

  it('cut short (not one JSON object) are archived whole from disk as sent, fail the run as a contract error, and leave nothing behind', async () => {
    const contract = await ContractWorld.start({ KLEAR_MAX_BUFFER_BYTES: String(CAP), KLEAR_SPOOL_DIR: spoolDir });
    world = contract;
    contract.klear.balanceHistory = balanceHistory(1_200, HOUR);
    // The first page stops inside its list, with a complete HTTP answer (its Content-Length is the cut body's).
    let sent = '';
    contract.klear.reshape = (path, body) =>
      path === '/margin/settlement_balance_history' && sent === '' ? (sent = body.slice(0, Math.floor(body.length * 0.6))) : body;
    const run = await contract.run('balance_history', 'startup');
    expect(run?.status).toBe('failed');
    expect(run?.error).toMatch(/does not match the contract: .*not JSON \(the spooled body is not one complete JSON object\)/);
    expect((await contract.query<{ n: number }>(`SELECT count(*)::int AS n FROM klear_balance_history`))[0].n).toBe(0);
    const archived = await contract.query<{ body: string; ok: boolean }>(
      `SELECT convert_from(body, 'UTF8') AS body, encode(sha256(body), 'hex') = sha256 AS ok
         FROM klear_response_archive WHERE endpoint = 'GET /margin/settlement_balance_history'`,
    );
    expect(archived).toEqual([{ body: sent, ok: true }]);
    expect(sent.length).toBeGreaterThan(8 * CAP);
    expect(spoolLeft()).toEqual({ files: [], open: [] });
  });

  it('keep what the parser reports from a whole body: unmapped fields (and a change to one alone makes a version), NUL escaped, every obligation', async () => {
    const contract = await ContractWorld.start({ KLEAR_MAX_BUFFER_BYTES: String(CAP), KLEAR_SPOOL_DIR: spoolDir });
    world = contract;
    contract.klear.obligations = obligationsAt(Date.now() - HOUR, 20, ['Crypto', 'Equity', 'Rates']);
    const target = contract.klear.obligations[31];
    target.extra = `,"settlement_venue":"venue-a"`;
    contract.klear.obligations[40].asset_class = 'Rates\u0000X';

    const first = await contract.run('obligation_history', 'startup');
    expect(first?.status).toBe('succeeded');
    const details = first!.details as { unmapped_fields?: string[]; contract_errors?: string[] };
    expect(details.unmapped_fields).toEqual(['GET /margin/obligation_history: obligations[].settlement_venue']);
    expect(details.contract_errors).toHaveLength(1);
    expect((await contract.query<{ n: number }>(`SELECT count(*)::int AS n FROM klear_obligation`))[0].n).toBe(60);
    const [{ spooled }] = await contract.query<{ spooled: number }>(
      `SELECT count(*)::int AS spooled FROM klear_response_archive WHERE endpoint = 'GET /margin/obligation_history' AND octet_length(body) > $1 AND encode(sha256(body), 'hex') = sha256`,
      [CAP],
    );
    expect(spooled).toBeGreaterThan(0);

    const versions = async () =>
      (
        await contract.query<{ n: number }>(`SELECT count(*)::int AS n FROM klear_obligation_version WHERE obligation_id = $1`, [target.id])
      )[0].n;
    expect(await versions()).toBe(1);
    target.extra = `,"settlement_venue":"venue-b"`;
    expect((await contract.run('obligation_history', 'startup'))?.status).toBe('succeeded');
    expect(await versions()).toBe(2);
    expect(spoolLeft()).toEqual({ files: [], open: [] });
  });

  it('as detail pages of truncated obligations: each parsed from disk, followed to the last, archived whole, and closed', async () => {
    // 60 subtraders x 20 markets = 1,200 settlement details per obligation, cut inline at 1,000: each
    // obligation's details are completed from two pages of ~100 KiB or more, far past a 16 KiB cap.
    const ingestion = await IngestionWorld.start(
      { seed: 13, subtraders: 60, markets: 20, days: 1, assetClasses: 'Crypto' },
      { KLEAR_MAX_BUFFER_BYTES: String(4 * CAP), KLEAR_SPOOL_DIR: spoolDir, KLEAR_MAX_RETRIES: '0', KLEAR_TIMEOUT_MS: '20000' },
    );
    world = ingestion;
    const run = await ingestion.runner.runToEnd('obligation_history', { trigger: 'startup' });
    expect(run?.status).toBe('succeeded');
    const truth = await ingestion.truth();
    expect(truth.obligations.length).toBeGreaterThan(0);
    const held = (await ingestion.db.dataSource.query(
      `SELECT o.id, (SELECT count(*)::int FROM klear_settlement_detail d WHERE d.obligation_id = o.id) AS details
         FROM klear_obligation o ORDER BY o.id`,
    )) as Array<{ id: string; details: number }>;
    expect(held).toEqual(truth.obligations.map((o) => ({ id: o.id as string, details: 1_200 })).sort((a, b) => a.id.localeCompare(b.id)));
    const pages = (await ingestion.db.dataSource.query(
      `SELECT octet_length(body) AS size, encode(sha256(body), 'hex') = sha256 AS ok,
              jsonb_array_length(convert_from(body, 'UTF8')::jsonb -> 'settlement_details') AS rows
         FROM klear_response_archive WHERE endpoint = 'GET /margin/obligations/{obligation_id}/settlement_details' AND job_run_id = $1`,
      [run?.id],
    )) as Array<{ size: number; ok: boolean; rows: number }>;
    expect(pages).toHaveLength(2 * truth.obligations.length);
    expect(pages.every((p) => p.ok && p.size > 4 * CAP)).toBe(true);
    expect(pages.map((p) => p.rows).sort((a, b) => a - b)).toEqual([
      ...Array<number>(truth.obligations.length).fill(200),
      ...Array<number>(truth.obligations.length).fill(1_000),
    ]);
    expect(spoolLeft()).toEqual({ files: [], open: [] });
  });
});
