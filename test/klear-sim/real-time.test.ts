// Issue 12: without --start-at the simulator's world follows real time (the demo shows today), while a
// fixed --start-at keeps a reproducible world. Nothing here assumes a date: every expectation is
// computed from the machine's clock at the moment of the check.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DateTime } from 'luxon';
import { parseCommandLine, type RunningKlearSimulator, startKlearSimulator } from '@apps/klear-sim';
import { simAdmin } from '../klear-client/klear-client-world';
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
    await until(
      'the simulated clock to move',
      async () => Date.parse((await simAdmin(sim, 'GET', '/state')).now),
      (now) => now > first,
      30_000,
      20,
    );
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

describe("the simulator with a state file keeps Klear's memory across restarts", () => {
  it('restores the anchor, the deposits and the withdrawals: ids carry on, none is reused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'klear-sim-state-'));
    const stateFile = join(dir, 'klear-sim-state.json');
    const options = { port: 0, rateLimit: false, days: 5, startAt: 'now', stateFile };
    try {
      const first = await startKlearSimulator(options);
      const w1 = await simAdmin(first, 'POST', '/withdrawals', { amount_centicents: '1230000' });
      await simAdmin(first, 'POST', '/deposits', { amount_centicents: '4560000' });
      const before = await simAdmin(first, 'GET', '/state');
      await first.close();

      const second = await startKlearSimulator(options);
      try {
        expect(second.context.state.anchorMs).toBe(first.context.state.anchorMs);
        expect(second.context.state.withdrawalsById.get(w1.id)).toMatchObject({ id: w1.id, amount: 1_230_000n });
        expect(second.context.state.deposits.map((d) => d.amount)).toEqual([4_560_000n]);
        const w2 = await simAdmin(second, 'POST', '/withdrawals', { amount_centicents: '1000' });
        expect(w2.id).not.toBe(w1.id);
        expect(w2.id).toMatch(/-000002$/);
        const after = await simAdmin(second, 'GET', '/state');
        // Same cycle numbering: the obligation of the same cycle has the same id.
        if (after.last_settled_cycle === before.last_settled_cycle)
          expect(after.active_obligation_id ?? null).toBe(before.active_obligation_id ?? null);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
