import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ApiWorld } from '../support/api-world';
import { type RunningKlearSimulator, startKlearSimulator } from '@apps/klear-sim';
import { apiOverSimulator, smallWorld } from './ingestion-world';

/** Issue 22: the active obligation in words, with the last settled cycle and the next cycle's time. */
describe('GET /obligations/active in words', () => {
  let sim: RunningKlearSimulator;
  let ctx: ApiWorld;
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
    for (const job of ['obligation_history', 'active_obligation', 'settlement_estimate', 'balance_history']) await run(job);
    const history = await get('/obligations?limit=50');
    expect(history.body.data.length).toBeGreaterThan(1);
    for (const o of history.body.data as Array<{
      amount_centicents: string;
      amount_usd: string;
      direction: string;
      in_words: string;
      asset_class: string;
      execution_time: string;
    }>) {
      const amount = BigInt(o.amount_centicents);
      const usd = o.amount_usd.replace('-', '');
      const expected =
        amount < 0n
          ? ['member_pays', `the member pays Klear ${usd} for the ${o.asset_class} cycle of ${o.execution_time}`]
          : amount > 0n
            ? ['member_receives', `Klear pays the member ${usd} for the ${o.asset_class} cycle of ${o.execution_time}`]
            : ['nothing_due', `nothing is due for the ${o.asset_class} cycle of ${o.execution_time}`];
      expect(o.direction).toBe(expected[0]);
      expect(o.in_words.startsWith(expected[1])).toBe(true);
    }

    const active = await get('/obligations/active');
    expect(active.status).toBe(200);
    expect(active.body.obligations.every((o: { paid: boolean }) => !o.paid)).toBe(true);
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
      expect(active.body.summary).toBe(
        `no obligation is due: between cycles; the last settled cycle: ${lastSettled.in_words}; the next cycle runs at ${estimate.body.next_runtime}`,
      );
    }
  });

  it('says on every obligation when it is due and whether it was paid, linked to the buffer movement that settled it', async () => {
    const movements = new Map<string, { balance_delta_centicents: string; created_ts: string }>();
    for (let cursor: string | null = null, first = true; first || cursor; first = false) {
      const page = await get(`/settlement/balance/history?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.status).toBe(200);
      for (const m of page.body.data) movements.set(m.business_transaction_id, m);
      cursor = page.body.next_cursor;
    }
    const activeIds = new Set((await get('/obligations/active')).body.obligations.map((o: { id: string }) => o.id));
    const history = (await get('/obligations?limit=500')).body.data as Array<{
      id: string;
      execution_time: string;
      due_at: string;
      direction: string;
      in_words: string;
      paid: boolean;
      payment_status: string;
      buffer_movement: null | { business_transaction_id: string; created_ts: string; balance_delta_centicents: string; matched_by: string };
    }>;
    // Every settled cycle with something due was paid from the buffer.
    const settled = history.filter((o) => !activeIds.has(o.id) && o.direction !== 'nothing_due');
    expect(settled.length).toBeGreaterThan(1);
    for (const o of history) expect(o.due_at).toBe(o.execution_time);
    for (const o of settled) {
      expect({ id: o.id, paid: o.paid, status: o.payment_status }).toEqual({ id: o.id, paid: true, status: 'paid' });
      const movement = movements.get(o.buffer_movement!.business_transaction_id);
      expect(movement).toBeDefined();
      expect(o.buffer_movement!.created_ts).toBe(movement!.created_ts);
      expect(Date.parse(o.buffer_movement!.created_ts)).toBeGreaterThanOrEqual(Date.parse(o.due_at));
      expect(BigInt(o.buffer_movement!.balance_delta_centicents) < 0n).toBe(o.direction === 'member_pays');
      expect(o.in_words).toContain(`, due at ${o.due_at}; paid: buffer movement ${o.buffer_movement!.business_transaction_id} of `);
    }
    // Receipts are linked by Klear's own receive reference.
    for (const o of settled.filter((x) => x.direction === 'member_receives'))
      expect(o.buffer_movement!.matched_by).toBe('receive_reference');
    // The active obligation (executed, its payment pending) is not paid yet, and says so.
    for (const o of history.filter((x) => activeIds.has(x.id) && x.direction !== 'nothing_due')) {
      expect({ paid: o.paid, status: o.payment_status, buffer_movement: o.buffer_movement }).toEqual({
        paid: false,
        status: 'awaiting_payment',
        buffer_movement: null,
      });
      expect(o.in_words).toContain(`, due at ${o.due_at}; not paid yet (no buffer movement settles it)`);
    }
    // Between cycles, the last settled cycle carries its payment and the movement.
    const active = (await get('/obligations/active')).body;
    if (active.last_settled && active.last_settled.direction !== 'nothing_due')
      expect(active.last_settled).toMatchObject({
        paid: true,
        buffer_movement: expect.objectContaining({ business_transaction_id: expect.any(String) }),
      });
  });
});
