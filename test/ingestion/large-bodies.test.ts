import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { balanceHistory, ContractWorld, obligationsAt } from './contract-klear-world';

const HOUR = 3_600_000;

let world: ContractWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** Spool files of this process's client (klear-body-*.json in the temp directory). */
const spoolFiles = () => new Set(readdirSync(tmpdir()).filter((name) => name.startsWith('klear-body-')));

/**
 * Answers far larger than the client's in-memory cap (KLEAR_MAX_BUFFER_BYTES, 4 KiB here against
 * bodies of ~100 KiB): each streams to a spool file, into the archive and through the parser item by
 * item. What is stored, archived and reported is what a body held in memory gives.
 */
describe('Answer bodies larger than the in-memory cap', () => {
  jest.setTimeout(180_000);
  const CAP = 4_096;

  it('are archived byte for byte with their checksum and stored whole, and leave no spool file behind', async () => {
    world = await ContractWorld.start({ KLEAR_MAX_BUFFER_BYTES: String(CAP) });
    world.klear.balanceHistory = balanceHistory(1_200, HOUR);
    const before = spoolFiles();
    expect((await world.run('balance_history', 'startup'))?.status).toBe('succeeded');

    const [stored] = await world.query<{ n: number; sum: string }>(
      `SELECT count(*)::int AS n, sum(balance_delta_centicents)::text AS sum FROM klear_balance_history`,
    );
    expect(stored).toEqual({ n: 1_200, sum: String(world.klear.balanceHistory.reduce((s, e) => s + e.balance_delta_centicents, 0n)) });
    const archived = await world.query<{ size: number; ok: boolean; entries: number }>(
      `SELECT octet_length(body) AS size, encode(sha256(body), 'hex') = sha256 AS ok, jsonb_array_length(convert_from(body, 'UTF8')::jsonb -> 'entries') AS entries
         FROM klear_response_archive WHERE endpoint = 'GET /margin/settlement_balance_history' ORDER BY id`,
    );
    expect(archived.map((a) => a.entries)).toEqual([500, 500, 200]);
    expect(archived.every((a) => a.ok)).toBe(true);
    // The smallest (200 entries) is still eight times the cap.
    expect(Math.min(...archived.map((a) => a.size))).toBeGreaterThan(8 * CAP);
    expect([...spoolFiles()].filter((name) => !before.has(name))).toEqual([]);
  });

  it('keep what the parser reports from a whole body: unmapped fields (and a change to one alone makes a version), NUL escaped, every obligation', async () => {
    world = await ContractWorld.start({ KLEAR_MAX_BUFFER_BYTES: String(CAP) });
    world.klear.obligations = obligationsAt(Date.now() - HOUR, 20, ['Crypto', 'Equity', 'Rates']);
    const target = world.klear.obligations[31];
    target.extra = `,"settlement_venue":"venue-a"`;
    world.klear.obligations[40].asset_class = 'Rates\u0000X';

    const first = await world.run('obligation_history', 'startup');
    expect(first?.status).toBe('succeeded');
    const details = first!.details as { unmapped_fields?: string[]; contract_errors?: string[] };
    expect(details.unmapped_fields).toEqual(['GET /margin/obligation_history: obligations[].settlement_venue']);
    expect(details.contract_errors).toHaveLength(1);
    expect((await world.query<{ n: number }>(`SELECT count(*)::int AS n FROM klear_obligation`))[0].n).toBe(60);
    const [{ spooled }] = await world.query<{ spooled: number }>(
      `SELECT count(*)::int AS spooled FROM klear_response_archive WHERE endpoint = 'GET /margin/obligation_history' AND octet_length(body) > $1 AND encode(sha256(body), 'hex') = sha256`,
      [CAP],
    );
    expect(spooled).toBeGreaterThan(0);

    const versions = async () =>
      (
        await world!.query<{ n: number }>(`SELECT count(*)::int AS n FROM klear_obligation_version WHERE obligation_id = $1`, [target.id])
      )[0].n;
    expect(await versions()).toBe(1);
    target.extra = `,"settlement_venue":"venue-b"`;
    expect((await world.run('obligation_history', 'startup'))?.status).toBe('succeeded');
    expect(await versions()).toBe(2);
  });
});
