import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { margin, ReconWorld } from './recon-world';

/*
 * Netted subtrader groups whose membership changes between cycles (docs/ledger-and-breaks.md,
 * "maintenance_margin"): the group's requirement is compared with the members' ledger margins at
 * the membership valid at the cycle's execution time, kept with its history by the subtrader_groups
 * pulls. Every membership is pulled before any cycle is reconciled, so a run that used the latest
 * membership instead of its cycle's would report false breaks in the earlier cycles.
 *
 *   pulled 11-03 12:00  GRP-A = ST-1, ST-2   GRP-B = ST-3
 *   C1 11-03 22:00      Klear: A 900, B 300
 *   pulled 11-04 12:00  GRP-A = ST-1         GRP-B = ST-3, ST-2   (ST-2 moves from A to B)
 *   C2 11-04 22:00      Klear: A 500, B 700
 *   pulled 11-05 12:00                       GRP-B = ST-3, ST-2   (ST-1 leaves: GRP-A is gone)
 *   C3 11-05 22:00      Klear: ST-1 500 on its own, B 700
 *
 * The ledger books ST-1 500, ST-2 400, ST-3 300 every cycle, except ST-2 450 in C2 (the answer key's
 * one break: on GRP-B, ST-2's group at C2, 50 over).
 */
const C1 = '2026-11-03T22:00:00Z';
const C2 = '2026-11-04T22:00:00Z';
const C3 = '2026-11-05T22:00:00Z';
const group = (id: string, requirement: bigint) => ({ subtrader: '', group: id, requirement, id: `mm-${id}` });

describe('maintenance margin of netted groups whose membership changes between cycles', () => {
  let world: ReconWorld;

  beforeAll(async () => {
    world = await ReconWorld.start();
    await world.groups('2026-11-03T12:00:00Z', { 'GRP-A': ['ST-1', 'ST-2'], 'GRP-B': ['ST-3'] });
    await world.groups('2026-11-04T12:00:00Z', { 'GRP-A': ['ST-1'], 'GRP-B': ['ST-3', 'ST-2'] });
    await world.groups('2026-11-05T12:00:00Z', { 'GRP-B': ['ST-3', 'ST-2'] });
    await world.obligation({ cycle: C1, margins: [group('GRP-A', 900n), group('GRP-B', 300n)] });
    await world.obligation({ cycle: C2, margins: [group('GRP-A', 500n), group('GRP-B', 700n)] });
    await world.obligation({ cycle: C3, margins: [{ subtrader: 'ST-1', requirement: 500n }, group('GRP-B', 700n)] });
    const booked: Record<string, Record<string, bigint>> = {
      [C1]: { 'ST-1': 500n, 'ST-2': 400n, 'ST-3': 300n },
      [C2]: { 'ST-1': 500n, 'ST-2': 450n, 'ST-3': 300n },
      [C3]: { 'ST-1': 500n, 'ST-2': 400n, 'ST-3': 300n },
    };
    await world.post(
      Object.entries(booked).flatMap(([cycle, bySubtrader]) =>
        Object.entries(bySubtrader).map(([s, v]) => margin(`mm/${cycle}/${s}`, cycle, s, v)),
      ),
    );
  });
  afterAll(() => world?.close());

  it('keeps the membership history the pulls saw: ST-2 in GRP-A, then in GRP-B; ST-1 in GRP-A until it left', async () => {
    const rows = await world.sql(
      `SELECT group_id, subtrader_id, valid_from, valid_to FROM klear_subtrader_group_membership ORDER BY subtrader_id, valid_from`,
    );
    expect(
      rows.map((r) => [
        r.group_id,
        r.subtrader_id,
        (r.valid_from as unknown as Date).toISOString(),
        (r.valid_to as unknown as Date | null)?.toISOString() ?? null,
      ]),
    ).toEqual([
      ['GRP-A', 'ST-1', '2026-11-03T12:00:00.000Z', '2026-11-05T12:00:00.000Z'],
      ['GRP-A', 'ST-2', '2026-11-03T12:00:00.000Z', '2026-11-04T12:00:00.000Z'],
      ['GRP-B', 'ST-2', '2026-11-04T12:00:00.000Z', null],
      ['GRP-B', 'ST-3', '2026-11-03T12:00:00.000Z', null],
    ]);
  });

  it("compares each cycle's groups at that cycle's membership: the answer key's one break, no false one", async () => {
    const found = {
      [C1]: await world.brief((await world.run(C1)).runId, ['maintenance_margin']),
      [C2]: await world.brief((await world.run(C2)).runId, ['maintenance_margin']),
      [C3]: await world.brief((await world.run(C3)).runId, ['maintenance_margin']),
    };
    expect(found).toEqual({
      // ST-2 still in GRP-A: 500 + 400 = 900, and GRP-B is ST-3 alone.
      [C1]: [],
      // ST-2 moved: GRP-A is ST-1 (500), GRP-B is ST-3 + ST-2 (300 + 450 = 750 against Klear's 700).
      [C2]: [[`maintenance_margin/${C2}/group/GRP-B`, 'amount_mismatch', '700', '750', '-50']],
      // ST-1 left: compared on its own (500 = 500); GRP-B unchanged.
      [C3]: [],
    });
  });

  it('names the members behind a group break: the entries of the members at that cycle only', async () => {
    const [b] = await world.breaks((await world.run(C2)).runId, ['maintenance_margin']);
    expect(b.internal_rows).toEqual([`mm/${C2}/ST-2`, `mm/${C2}/ST-3`]);
  });
});
