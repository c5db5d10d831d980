import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ApiTestContext } from '../support/api-context';
import { type RunningKlearSimulator, startKlearSimulator } from '../../apps/klear-sim/src/index';
import { apiOverSimulator, smallWorld } from './ingestion-harness';

/** Issue 22: the active obligation in words, with the last settled cycle and the next cycle's time. */
describe('GET /obligations/active in words', () => {
  let sim: RunningKlearSimulator;
  let ctx: ApiTestContext;
  let reportsDir: string;
  const get = (path: string) => ctx.http().get(path).set('authorization', `Bearer ${ctx.tokens.viewer}`);
  const run = async (job: string) => {
    const res = await ctx.http().post(`/jobs/${job}/run?wait=true`).set('authorization', `Bearer ${ctx.tokens.operator}`);
    expect({ job, run: res.body.run?.status }).toEqual({ job, run: 'succeeded' });
  };

  beforeAll(async () => {
    sim = await startKlearSimulator(smallWorld({ seed: 22 }));
    reportsDir = mkdtempSync(join(tmpdir(), 'klear-obligation-words-'));
    ctx = await apiOverSimulator(sim, reportsDir, { WORKER_BACKFILL_DAYS: '30' });
  });
  afterAll(async () => {
    await ctx?.close();
    await sim?.close();
    rmSync(reportsDir, { recursive: true, force: true });
  });

  it('says so in words before anything was pulled', async () => {
    const res = await get('/obligations/active');
    expect(res.body).toMatchObject({ state: 'never_pulled', obligations: [], obligation: null, last_settled: null, next_cycle: null });
    expect(res.body.summary).toBe('the active obligation has not been pulled from Klear yet');
  });

  it('gives who pays whom in words on every obligation, the last settled cycle and the next cycle from the estimate', async () => {
    for (const job of ['obligation_history', 'active_obligation', 'settlement_estimate']) await run(job);
    const history = await get('/obligations?limit=50');
    expect(history.body.data.length).toBeGreaterThan(1);
    for (const o of history.body.data as Array<{ amount_centicents: string; amount_usd: string; direction: string; in_words: string; asset_class: string; execution_time: string }>) {
      const amount = BigInt(o.amount_centicents);
      const usd = o.amount_usd.replace('-', '');
      const expected =
        amount < 0n
          ? ['member_pays', `the member pays Klear ${usd} for the ${o.asset_class} cycle of ${o.execution_time}`]
          : amount > 0n
            ? ['member_receives', `Klear pays the member ${usd} for the ${o.asset_class} cycle of ${o.execution_time}`]
            : ['nothing_due', `nothing is due for the ${o.asset_class} cycle of ${o.execution_time}`];
      expect([o.direction, o.in_words]).toEqual(expected);
    }

    const active = await get('/obligations/active');
    expect(active.status).toBe(200);
    const activeIds = active.body.obligations.map((o: { id: string }) => o.id);
    const lastSettled = history.body.data.find((o: { id: string }) => !activeIds.includes(o.id));
    expect(active.body.last_settled).toMatchObject({ id: lastSettled.id, in_words: lastSettled.in_words });
    const estimate = await get('/settlement/estimate');
    expect(estimate.body.next_runtime).toEqual(expect.any(String));
    expect(active.body.next_cycle).toBe(estimate.body.next_runtime);
    if (activeIds.length > 0) {
      expect(active.body.state).toBe('due');
      expect(active.body.summary).toBe(active.body.obligations.map((o: { in_words: string }) => o.in_words).join('; '));
    } else {
      expect(active.body.state).toBe('between_cycles');
      expect(active.body.summary).toBe(`no obligation is due: between cycles; the last settled cycle: ${lastSettled.in_words}; the next cycle runs at ${estimate.body.next_runtime}`);
    }
  });
});
