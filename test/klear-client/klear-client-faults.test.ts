import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { KlearCircuitOpenError, KlearHttpError, KlearOutcomeUnknownError, KlearTimeoutError } from '@app/klear-client';
import type { RunningKlearSimulator } from '@apps/klear-sim';
import { bearerClient, injectFaults, rejectionOf, requestCount, simAdmin, startSmallSimulator } from './klear-client-world';

const BALANCE = '/margin/settlement_balance';
const WITHDRAW = '/margin/withdraw_settlement_balance';

describe('KlearClient under Klear faults', () => {
  let sim: RunningKlearSimulator;

  beforeAll(async () => {
    sim = await startSmallSimulator();
  });
  afterEach(() => simAdmin(sim, 'DELETE', '/faults'));
  afterAll(() => sim.close());

  async function countDuring<T>(path: string, work: () => Promise<T>): Promise<{ result: T; requests: number }> {
    const before = await requestCount(sim, path);
    const result = await work();
    return { result, requests: (await requestCount(sim, path)) - before };
  }

  it('retries a read after a 500 and a 503 and returns the third answer', async () => {
    await injectFaults(sim, [
      { kind: 'status', endpoint: BALANCE, status: 500, times: 1 },
      { kind: 'status', endpoint: BALANCE, status: 503, times: 1 },
    ]);
    const { result, requests } = await countDuring(BALANCE, () => bearerClient(sim).getSettlementBalance());
    expect(result.raw.status).toBe(200);
    expect(requests).toBe(3);
  });

  it('waits for Retry-After after a 429 before trying the read again', async () => {
    await injectFaults(sim, [{ kind: 'rate_limit_burst', endpoint: BALANCE, retry_after_seconds: 1, times: 1 }]);
    const started = Date.now();
    const { result, requests } = await countDuring(BALANCE, () => bearerClient(sim).getSettlementBalance());
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    expect(result.raw.status).toBe(200);
    expect(requests).toBe(2);
  });

  it('retries a read after connection resets and after a timeout', async () => {
    await injectFaults(sim, [
      { kind: 'connection_reset', endpoint: BALANCE, times: 2 },
      { kind: 'timeout', endpoint: '/margin/guaranty_fund_balance', times: 1 },
    ]);
    // A reset is told apart from a timeout only when the reset arrives first: a generous timeout for it,
    // however slow a loaded machine is; the short one only where Klear never answers.
    const reset = await countDuring(BALANCE, () => bearerClient(sim, { timeoutMs: 60_000 }).getSettlementBalance());
    expect(reset.requests).toBe(3);
    const started = Date.now();
    const timedOut = await countDuring('/margin/guaranty_fund_balance', () =>
      bearerClient(sim, { timeoutMs: 300 }).getGuarantyFundBalance(),
    );
    expect(timedOut.requests).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(timedOut.result.data.user_id).toBe(sim.options.adminUserId);
  });

  it('gives up after the configured number of retries with the last error', async () => {
    await injectFaults(sim, [{ kind: 'status', endpoint: BALANCE, status: 502 }]);
    const { result, requests } = await countDuring(BALANCE, () => rejectionOf(bearerClient(sim, { maxRetries: 2 }).getSettlementBalance()));
    expect(result).toBeInstanceOf(KlearHttpError);
    expect(result).toMatchObject({ status: 502, klearCode: 'bad_gateway', endpoint: `GET ${BALANCE}` });
    expect(requests).toBe(3);
  });

  it('sends the withdrawal exactly once when Klear answers 500 after creating it, and says the outcome is unknown', async () => {
    await injectFaults(sim, [{ kind: 'status', endpoint: WITHDRAW, status: 500, phase: 'after', times: 1 }]);
    const postsBefore = (await simAdmin(sim, 'GET', '/counters')).withdrawal_post_count as number;
    const { result, requests } = await countDuring(WITHDRAW, () =>
      rejectionOf(bearerClient(sim, { maxRetries: 5 }).withdrawSettlementBalance(1_250_000n)),
    );
    expect(result).toBeInstanceOf(KlearOutcomeUnknownError);
    expect(result).toMatchObject({ reason: 'server_error', endpoint: `POST ${WITHDRAW}` });
    expect(result.message).toContain('125.00 USD');
    expect(requests).toBe(1);
    const counters = await simAdmin(sim, 'GET', '/counters');
    expect(counters.withdrawal_post_count).toBe(postsBefore + 1);
    expect(counters.withdrawal_posts.at(-1)).toMatchObject({ amount: '125.00', outcome: 'created' });
  });

  it('sends the withdrawal exactly once when the answer times out or the connection resets', async () => {
    await injectFaults(sim, [
      { kind: 'timeout', endpoint: WITHDRAW, phase: 'after', times: 1 },
      { kind: 'connection_reset', endpoint: WITHDRAW, phase: 'after', skip: 1, times: 1 },
    ]);
    const timedOut = await countDuring(WITHDRAW, () =>
      rejectionOf(bearerClient(sim, { timeoutMs: 300, maxRetries: 5 }).withdrawSettlementBalance(10_000n)),
    );
    expect(timedOut.result).toBeInstanceOf(KlearOutcomeUnknownError);
    expect(timedOut.result).toMatchObject({ reason: 'timeout' });
    expect((timedOut.result as KlearOutcomeUnknownError).cause).toBeInstanceOf(KlearTimeoutError);
    expect(timedOut.requests).toBe(1);
    // The reset must reach the client before its timeout, however loaded the machine: a generous timeout.
    const reset = await countDuring(WITHDRAW, () =>
      rejectionOf(bearerClient(sim, { timeoutMs: 60_000, maxRetries: 5 }).withdrawSettlementBalance(20_000n)),
    );
    expect(reset.result).toMatchObject({ reason: 'network' });
    expect(reset.requests).toBe(1);
  });

  it('does not retry a withdrawal refused with 429: it was not processed and the caller decides', async () => {
    await injectFaults(sim, [{ kind: 'rate_limit_burst', endpoint: WITHDRAW, retry_after_seconds: 2, times: 1 }]);
    const { result, requests } = await countDuring(WITHDRAW, () => rejectionOf(bearerClient(sim).withdrawSettlementBalance(10_000n)));
    expect(result).toBeInstanceOf(KlearHttpError);
    expect(result).toMatchObject({ status: 429, retryAfterMs: 2000 });
    expect(requests).toBe(1);
  });

  it('opens the circuit after consecutive failures, then fails fast without calling Klear, and closes once Klear is back', async () => {
    await injectFaults(sim, [{ kind: 'status', endpoint: '*', status: 503 }]);
    const client = bearerClient(sim, { maxRetries: 10, breakerThreshold: 3, breakerHalfOpenAfterMs: 400 });
    const first = await countDuring(BALANCE, () => rejectionOf(client.getSettlementBalance()));
    expect(first.result).toBeInstanceOf(KlearCircuitOpenError);
    expect(first.requests).toBe(3);
    expect(client.circuitState).toBe('open');

    const fast = await countDuring('/margin/guaranty_fund_balance', () => rejectionOf(client.getGuarantyFundBalance()));
    expect(fast.result).toBeInstanceOf(KlearCircuitOpenError);
    expect(fast.requests).toBe(0);
    const withdrawal = await countDuring(WITHDRAW, () => rejectionOf(client.withdrawSettlementBalance(10_000n)));
    expect(withdrawal.result).toBeInstanceOf(KlearCircuitOpenError);
    expect(withdrawal.requests).toBe(0);

    await simAdmin(sim, 'DELETE', '/faults');
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect((await client.getSettlementBalance()).raw.status).toBe(200);
    expect(client.circuitState).toBe('closed');
  });

  // What the client owns is its pacing: what it sends in each of Klear's one-second windows. Whether Klear
  // then counts a request in the window it was sent in depends on the network and on how busy both ends
  // are (under the suite with two busy loops beside it, a write of this burst met a 429: sent late in one
  // second, it can be counted in the next), so the test asserts the send times, not the simulator's answers.
  it('paces a burst of reads and writes to the basic tier: never more than 20 reads or 10 writes sent within one second of the clock', async () => {
    const limited = await startSmallSimulator({ rateLimit: true, tier: 'basic' });
    try {
      const sent: Array<{ kind: 'read' | 'write'; second: number }> = [];
      const client = bearerClient(limited, {
        tier: 'basic',
        fetch: (input, init) => {
          sent.push({ kind: (init?.method ?? 'GET') === 'GET' ? 'read' : 'write', second: Math.floor(Date.now() / 1000) });
          return fetch(input, init);
        },
      });
      const started = Date.now();
      await Promise.allSettled([
        ...Array.from({ length: 45 }, () => client.getGuarantyFundBalance()),
        ...Array.from({ length: 12 }, () => client.withdrawSettlementBalance(100n)),
      ]);
      const elapsed = Date.now() - started;
      const perSecond = new Map<string, number>();
      for (const s of sent) perSecond.set(`${s.kind}@${s.second}`, (perSecond.get(`${s.kind}@${s.second}`) ?? 0) + 1);
      const busiest = (kind: string) => Math.max(...[...perSecond].filter(([k]) => k.startsWith(kind)).map(([, n]) => n));
      expect(busiest('read')).toBeLessThanOrEqual(20);
      expect(busiest('write')).toBeLessThanOrEqual(10);
      // Each write is sent exactly once (never retried); a read is sent again only after a 429.
      expect(sent.filter((s) => s.kind === 'write')).toHaveLength(12);
      expect(sent.filter((s) => s.kind === 'read').length).toBeGreaterThanOrEqual(45);
      // 45 reads at 95% of 20/s take about 2.3 s; 12 writes at 95% of 10/s about 1.2 s.
      expect(elapsed).toBeGreaterThanOrEqual(2200);
    } finally {
      await limited.close();
    }
  });
});
