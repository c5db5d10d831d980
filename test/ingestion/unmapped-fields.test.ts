import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { ContractWorld, obligationsAt } from './contract-klear-world';

const HOUR = 3_600_000;

/** Fields Klear adds that the contract does not name: reported on the run, and part of a version's content. */
describe('Unmapped fields', () => {
  jest.setTimeout(120_000);
  let world: ContractWorld | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  const versions = async (id: string) =>
    (await world!.query<{ n: number }>(`SELECT count(*)::int AS n FROM klear_obligation_version WHERE obligation_id = $1`, [id]))[0].n;

  it('lists the unmapped field paths on the run, and a change to an unmapped field alone makes a new version', async () => {
    world = await ContractWorld.start();
    world.klear.obligations = obligationsAt(Date.now() - HOUR, 3, ['Crypto']);
    const target = world.klear.obligations[1];
    target.extra = `,"settlement_venue":"venue-a","venue_terms":{"tier":1}`;

    const first = await world.run('obligation_history', 'startup');
    expect(first).toMatchObject({ status: 'succeeded' });
    expect((first!.details as { unmapped_fields?: string[] }).unmapped_fields).toEqual([
      'GET /margin/obligation_history: obligations[].settlement_venue',
      'GET /margin/obligation_history: obligations[].venue_terms',
    ]);
    expect(await versions(target.id)).toBe(1);

    // Only the unmapped fields change (last_updated_ts too stays): a new version all the same.
    target.extra = `,"settlement_venue":"venue-a","venue_terms":{"tier":2}`;
    expect(await world.run('obligation_history', 'startup')).toMatchObject({ status: 'succeeded' });
    expect(await versions(target.id)).toBe(2);
    // Seen again unchanged: no version.
    expect(await world.run('obligation_history', 'startup')).toMatchObject({ status: 'succeeded' });
    expect(await versions(target.id)).toBe(2);
    expect(await versions(world.klear.obligations[0].id)).toBe(1);
  });
});
