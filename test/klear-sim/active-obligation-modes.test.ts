// Issue 12: the contract says "every obligation currently active ... empty when none is pending" but not
// when an obligation becomes active. The simulator serves both readings (docs/klear-api.md); the demo
// uses `open_cycle`, so that it always shows an active obligation of today's cycle or the next one.
import { afterEach, describe, expect, it } from '@jest/globals';
import type { RunningKlearSimulator } from '@apps/klear-sim';
import { bearerClient, simAdmin, startSmallSimulator } from '../klear-client/klear-client-world';

// 2026-11-20T21:00Z is 16:00 in New York: one hour before that day's 17:00 ET cycle (22:00Z), paid at 23:00Z.
const START = '2026-11-20T21:00:00Z';

async function activeAt(sim: RunningKlearSimulator, iso: string) {
  const now = Date.parse((await simAdmin(sim, 'GET', '/state')).now);
  const seconds = (Date.parse(iso) - now) / 1000;
  if (seconds > 0) await simAdmin(sim, 'POST', '/clock/advance', { seconds });
  const answer = await bearerClient(sim).getActiveObligations();
  return (answer.data.obligations ?? []).map((o) => ({
    id: o.id,
    asset_class: o.asset_class,
    execution_time: o.execution_time,
    amount: o.amount_centicents,
    last_updated_ts: o.last_updated_ts,
  }));
}

describe('GET /margin/active_obligations', () => {
  let sim: RunningKlearSimulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it('pending_payment (default): only a settled cycle between its execution and its payment is active', async () => {
    sim = await startSmallSimulator({ startAt: START, assetClasses: 'Crypto,Equity' });
    expect(await activeAt(sim, START)).toEqual([]);
    const pending = await activeAt(sim, '2026-11-20T22:30:00Z');
    expect(pending.map((o) => [o.asset_class, o.execution_time])).toEqual([
      ['Crypto', '2026-11-20T22:00:00Z'],
      ['Equity', '2026-11-20T22:00:00Z'],
    ]);
    expect(await activeAt(sim, '2026-11-20T23:30:00Z')).toEqual([]);
  });

  it("open_cycle: always one per asset class, of today's cycle or the next; the id seen before execution is the one settled", async () => {
    sim = await startSmallSimulator({ startAt: START, assetClasses: 'Crypto,Equity', activeObligations: 'open_cycle' });
    const before = await activeAt(sim, START);
    expect(before.map((o) => [o.asset_class, o.execution_time, o.last_updated_ts])).toEqual([
      ['Crypto', '2026-11-20T22:00:00Z', '2026-11-19T22:00:00Z'],
      ['Equity', '2026-11-20T22:00:00Z', '2026-11-19T22:00:00Z'],
    ]);
    // Its lists page like any obligation's (they are cut at 1,000 inline in big worlds).
    const client = bearerClient(sim);
    for (const o of before) {
      const details = await client.getObligationSettlementDetails(o.id, { limit: 1000 });
      expect(details.raw.status).toBe(200);
      expect(details.data.settlement_details.length).toBeGreaterThan(0);
    }
    // An open cycle that is not active (the default reading) is unknown by id.
    const other = await startSmallSimulator({ startAt: START, assetClasses: 'Crypto,Equity' });
    try {
      await expect(bearerClient(other).getObligationSettlementDetails(before[0].id, { limit: 10 })).rejects.toThrow(/404/);
    } finally {
      await other.close();
    }
    // Executed, payment pending: the same obligations, same ids and amounts, stamped at execution.
    const pending = await activeAt(sim, '2026-11-20T22:30:00Z');
    expect(pending.map((o) => [o.id, o.amount, o.last_updated_ts])).toEqual(before.map((o) => [o.id, o.amount, '2026-11-20T22:00:00Z']));
    const history = await bearerClient(sim).getObligationHistory({ limit: 2 });
    expect(
      history.data.obligations
        .filter((o) => o.execution_time === '2026-11-20T22:00:00Z')
        .map((o) => [o.id, o.amount_centicents])
        .sort(),
    ).toEqual(before.map((o) => [o.id, o.amount]).sort());
    // Paid: the next cycle (tomorrow's) is the active one.
    const after = await activeAt(sim, '2026-11-20T23:30:00Z');
    expect(after.map((o) => [o.asset_class, o.execution_time])).toEqual([
      ['Crypto', '2026-11-21T22:00:00Z'],
      ['Equity', '2026-11-21T22:00:00Z'],
    ]);
    expect(after.map((o) => o.id).some((id) => before.some((b) => b.id === id))).toBe(false);
  });

  it('the command line and the environment choose the reading; anything else is refused', async () => {
    const { parseCommandLine, resolveOptions } = await import('@apps/klear-sim');
    expect(parseCommandLine(['node', 'klear-sim']).activeObligations).toBeUndefined();
    expect(resolveOptions(parseCommandLine(['node', 'klear-sim'])).activeObligations).toBe('pending_payment');
    expect(parseCommandLine(['node', 'klear-sim', '--active-obligations', 'open_cycle']).activeObligations).toBe('open_cycle');
    expect(() => parseCommandLine(['node', 'klear-sim', '--active-obligations', 'tomorrow'])).toThrow(/pending_payment or open_cycle/);
  });
});
