import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { ObligationEntry } from '@app/klear-contract';
import { ENDPOINTS } from '@app/klear-contract';
import { SimulatorWorld, walkPages } from './simulator-world';

const BALANCE = '/margin/settlement_balance';
const HISTORY = '/margin/obligation_history';

describe('Klear simulator fault injection, as a plain client sees it', () => {
  let harness: SimulatorWorld;
  beforeAll(async () => {
    harness = await SimulatorWorld.start({ seed: 31, subtraders: 4, markets: 5, days: 12, withdrawalFailureRate: 0 });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.admin('DELETE', '/faults'));

  const faults = (...rules: Record<string, unknown>[]) => harness.admin('PUT', '/faults', { rules });

  it('answers injected 500, 502 and 503 errors, then recovers', async () => {
    await faults(
      { kind: 'status', status: 500, endpoint: BALANCE, times: 1 },
      { kind: 'status', status: 502, endpoint: BALANCE, times: 1 },
      { kind: 'status', status: 503, endpoint: BALANCE, times: 1 },
    );
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await harness.get(BALANCE)).status);
    expect(statuses).toEqual([500, 502, 503, 200]);
  });

  it('answers a burst of 429 with Retry-After', async () => {
    await faults({ kind: 'rate_limit_burst', times: 2, retry_after_seconds: 3 });
    const first = await harness.get(BALANCE);
    const second = await harness.get(HISTORY);
    expect([first.status, second.status]).toEqual([429, 429]);
    expect(first.headers.get('retry-after')).toBe('3');
    expect((await harness.get(BALANCE)).status).toBe(200);
  });

  it('adds latency', async () => {
    await faults({ kind: 'latency', latency_ms: 300, endpoint: BALANCE });
    const started = Date.now();
    expect((await harness.get(BALANCE)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('accepts a request and never answers it (timeout)', async () => {
    await faults({ kind: 'timeout', times: 1 });
    const pending = fetch(`${harness.sim.url}${BALANCE}`, { headers: { authorization: harness.bearer }, signal: AbortSignal.timeout(400) });
    await expect(pending).rejects.toThrow();
    expect((await harness.get(BALANCE)).status).toBe(200);
  });

  it('resets the connection in the middle of the body', async () => {
    await faults({ kind: 'connection_reset', endpoint: HISTORY, times: 1 });
    const read = async () => (await fetch(`${harness.sim.url}${HISTORY}`, { headers: { authorization: harness.bearer } })).text();
    await expect(read()).rejects.toThrow();
    expect((await harness.get(HISTORY)).status).toBe(200);
  });

  it('can fail a withdrawal POST after it took effect, so the client cannot tell from the answer', async () => {
    const before = ENDPOINTS.settlementBalance.responseSchema.parse((await harness.get(BALANCE)).json);
    await faults({ kind: 'status', status: 502, endpoint: '/margin/withdraw_settlement_balance', phase: 'after', times: 1 });
    expect((await harness.post('/margin/withdraw_settlement_balance', { amount: '10.00' })).status).toBe(502);
    const after = ENDPOINTS.settlementBalance.responseSchema.parse((await harness.get(BALANCE)).json);
    expect(after.locked_balance_centicents).toBe((before.locked_balance_centicents ?? 0n) + 100_000n);
    const counters = await harness.admin('GET', '/counters');
    expect(counters.withdrawal_posts.at(-1)).toMatchObject({ amount: '10.00', outcome: 'created' });
  });

  it('duplicates items across pages while the walk still holds every obligation', async () => {
    await faults({ kind: 'duplicate_items', endpoint: HISTORY });
    const { items } = await walkPages<ObligationEntry>(harness, HISTORY, 'obligations', 5);
    const ids = items.map((o) => o.id);
    expect(ids.length).toBeGreaterThan(new Set(ids).size);
    expect(new Set(ids).size).toBe(12);
  });

  it('reorders the items of a page', async () => {
    await faults({ kind: 'reorder_items', endpoint: HISTORY, times: 1 });
    const page = ENDPOINTS.obligationHistory.responseSchema.parse((await harness.get(`${HISTORY}?limit=4`)).json);
    const times = page.obligations.map((o) => Date.parse(o.execution_time));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[0]).toBeLessThan(times[3]);
  });

  it('changes an obligation already read between two page reads', async () => {
    await faults({ kind: 'obligation_changed', times: 1 });
    const firstPage = ENDPOINTS.obligationHistory.responseSchema.parse((await harness.get(`${HISTORY}?limit=3`)).json);
    const lastRead = firstPage.obligations[2];
    await harness.get(`${HISTORY}?limit=3&cursor=${encodeURIComponent(firstPage.cursor as string)}`);
    const reread = ENDPOINTS.obligationHistory.responseSchema.parse((await harness.get(`${HISTORY}?limit=3`)).json);
    const changed = reread.obligations[2];
    expect(changed.id).toBe(lastRead.id);
    expect(changed.last_updated_ts).not.toBe(lastRead.last_updated_ts);
    expect(changed.fees_centicents).toBeGreaterThan(lastRead.fees_centicents);
    expect(changed.amount_centicents).toBe(lastRead.amount_centicents - (changed.fees_centicents - lastRead.fees_centicents));
  });

  it('replays the same fault decisions for the same fault seed', async () => {
    const sequence = async (target: SimulatorWorld) => {
      await target.admin('PUT', '/faults', { seed: 77, rules: [{ kind: 'status', status: 503, rate: 0.5 }] });
      const statuses = [];
      for (let i = 0; i < 16; i++) statuses.push((await target.get(BALANCE)).status);
      return statuses;
    };
    const twin = await SimulatorWorld.start({ seed: 31, subtraders: 4, markets: 5, days: 12 });
    try {
      const [a, b] = [await sequence(harness), await sequence(twin)];
      expect(a).toEqual(b);
      expect(a).toContain(503);
      expect(a).toContain(200);
    } finally {
      await twin.close();
    }
  });
});
