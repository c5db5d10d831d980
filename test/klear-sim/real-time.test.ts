// Issue 12: without --start-at the simulator's world follows real time (the demo shows today), while a
// fixed --start-at keeps a reproducible world. Nothing here assumes a date: every expectation is
// computed from the machine's clock at the moment of the check.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DateTime } from 'luxon';
import { type RunningKlearSimulator, startKlearSimulator } from '../../apps/klear-sim/src/index';
import { parseCommandLine } from '../../apps/klear-sim/src/main';
import { simAdmin } from '../klear-client/klear-client-support';
import { until } from '../support/poll';

const ET = 'America/New_York';
const etDate = (iso: string) => DateTime.fromISO(iso, { zone: ET }).toISODate();

describe('the simulator without --start-at follows real time', () => {
  let sim: RunningKlearSimulator;
  beforeAll(async () => {
    expect(parseCommandLine(['node', 'klear-sim']).startAt).toBe('now');
    expect(parseCommandLine(['node', 'klear-sim', '--start-at', '2026-11-20T21:00:00Z']).startAt).toBe('2026-11-20T21:00:00Z');
    sim = await startKlearSimulator({ port: 0, rateLimit: false, days: 5, startAt: 'now', settlementTimeEt: '17:00' });
  });
  afterAll(() => sim?.close());

  it('settles the latest cycle before now on the real 17:00 ET schedule; the open cycle is today or the next day', async () => {
    const before = Date.now();
    const state = await simAdmin(sim, 'GET', '/state');
    const after = Date.now();
    const now = Date.parse(state.now);
    expect(now).toBeGreaterThanOrEqual(before - 1000);
    expect(now).toBeLessThanOrEqual(after + 1000);
    const last = DateTime.fromISO(state.last_settled_cycle, { zone: ET });
    const open = DateTime.fromISO(state.open_cycle, { zone: ET });
    // Both on the real schedule (17:00 ET, whatever the offset that day), around now.
    expect([last.hour, last.minute, open.hour, open.minute]).toEqual([17, 0, 17, 0]);
    expect(last.toMillis()).toBeLessThanOrEqual(now);
    expect(open.toMillis()).toBeGreaterThan(now);
    expect(Math.round(open.diff(last, 'days').days)).toBe(1);
    const today = DateTime.fromMillis(now, { zone: ET }).toISODate();
    const tomorrow = DateTime.fromMillis(now, { zone: ET }).plus({ days: 1 }).toISODate();
    expect([today, tomorrow]).toContain(etDate(state.open_cycle));
  });

  it('moves its clock with the wall clock', async () => {
    const first = Date.parse((await simAdmin(sim, 'GET', '/state')).now);
    await until('the simulated clock to move', async () => Date.parse((await simAdmin(sim, 'GET', '/state')).now), (now) => now > first, 30_000, 20);
  });
});

describe('the simulator with --start-at keeps a fixed world', () => {
  it('stands at the given instant until the admin path moves it', async () => {
    const sim = await startKlearSimulator({ port: 0, rateLimit: false, days: 5, startAt: '2026-11-20T21:00:00Z' });
    try {
      const a = await simAdmin(sim, 'GET', '/state');
      expect(a.now).toBe('2026-11-20T21:00:00Z');
      expect(a.last_settled_cycle).toBe('2026-11-19T22:00:00Z');
      await simAdmin(sim, 'POST', '/clock/advance', { seconds: 60 });
      expect((await simAdmin(sim, 'GET', '/state')).now).toBe('2026-11-20T21:01:00Z');
    } finally {
      await sim.close();
    }
  });
});
