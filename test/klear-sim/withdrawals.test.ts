import { afterEach, describe, expect, it } from '@jest/globals';
import { ENDPOINTS, centicentsToUsdAmount } from '@app/klear-contract';
import { SimulatorWorld } from './simulator-world';

const balanceOf = async (harness: SimulatorWorld) =>
  ENDPOINTS.settlementBalance.responseSchema.parse((await harness.get('/margin/settlement_balance')).json);
const statusOf = async (harness: SimulatorWorld, id: string) =>
  ENDPOINTS.settlementBalanceWithdrawal.responseSchema.parse((await harness.get(`/margin/settlement_balance_withdrawal?id=${id}`)).json)
    .status;
const historyOf = async (harness: SimulatorWorld, id: string) =>
  ENDPOINTS.settlementBalanceHistory.responseSchema
    .parse((await harness.get('/margin/settlement_balance_history?limit=500')).json)
    .entries.filter((entry) => entry.business_transaction_id === id)
    .reverse();

describe('Klear simulator withdrawals', () => {
  let harness: SimulatorWorld;
  afterEach(() => harness.close());

  it('locks the amount at once, then moves pending -> processing -> processed and releases the lock as the balance drops', async () => {
    harness = await SimulatorWorld.start({ seed: 8, withdrawalFailureRate: 0, withdrawalDelays: [60, 300] });
    const before = await balanceOf(harness);
    const { id } = ENDPOINTS.withdrawSettlementBalance.responseSchema.parse(
      (await harness.post('/margin/withdraw_settlement_balance', { amount: '500.00' })).json,
    );
    const locked = await balanceOf(harness);
    expect(locked.balance_available_centicents).toBe(before.balance_available_centicents - 5_000_000n);
    expect(locked.locked_balance_centicents).toBe(5_000_000n);
    expect(await historyOf(harness, id)).toEqual([
      expect.objectContaining({
        balance_delta_centicents: -5_000_000n,
        locked_balance_delta_centicents: 5_000_000n,
        reason: 'withdrawal_locked',
      }),
    ]);
    expect(await statusOf(harness, id)).toBe('pending');
    await harness.admin('POST', '/clock/advance', { seconds: 60 });
    expect(await statusOf(harness, id)).toBe('processing');
    await harness.admin('POST', '/clock/advance', { seconds: 300 });
    expect(await statusOf(harness, id)).toBe('processed');
    const after = await balanceOf(harness);
    expect(after.locked_balance_centicents).toBe(0n);
    expect(after.balance_available_centicents).toBe(before.balance_available_centicents - 5_000_000n);
    expect((await historyOf(harness, id)).map((e) => [e.reason, e.balance_delta_centicents, e.locked_balance_delta_centicents])).toEqual([
      ['withdrawal_locked', -5_000_000n, 5_000_000n],
      ['withdrawal_processed', 0n, -5_000_000n],
    ]);
  });

  it('returns the funds of a failed withdrawal', async () => {
    harness = await SimulatorWorld.start({ seed: 8, withdrawalFailureRate: 1, withdrawalDelays: [10, 10] });
    const before = await balanceOf(harness);
    const { id } = (await harness.post('/margin/withdraw_settlement_balance', { amount: '75.25' })).json as { id: string };
    await harness.admin('POST', '/clock/advance', { seconds: 20 });
    expect(await statusOf(harness, id)).toBe('failed');
    expect(await balanceOf(harness)).toEqual(before);
    expect((await historyOf(harness, id)).map((e) => [e.reason, e.balance_delta_centicents, e.locked_balance_delta_centicents])).toEqual([
      ['withdrawal_locked', -752_500n, 752_500n],
      ['withdrawal_failed', 752_500n, -752_500n],
    ]);
  });

  it('refuses more than the available balance, counting the locked funds as unavailable', async () => {
    harness = await SimulatorWorld.start({ seed: 8, initialDepositCenticents: 2_000_000_000n, days: 1, withdrawalFailureRate: 0 });
    const available = (await balanceOf(harness)).balance_available_centicents;
    const whole = centicentsToUsdAmount(available - (available % 100n));
    expect((await harness.post('/margin/withdraw_settlement_balance', { amount: whole })).status).toBe(200);
    const again = await harness.post('/margin/withdraw_settlement_balance', { amount: '0.01' });
    expect(again.status).toBe(400);
  });

  it('counts every withdrawal POST it received with its amount, time and outcome', async () => {
    harness = await SimulatorWorld.start({ seed: 8 });
    await harness.post('/margin/withdraw_settlement_balance', { amount: '1.00' });
    await harness.post('/margin/withdraw_settlement_balance', { amount: '-1.00' });
    await harness.post('/margin/withdraw_settlement_balance', { amount: '2.50' });
    const counters = await harness.admin('GET', '/counters');
    expect(counters.withdrawal_post_count).toBe(3n);
    expect(counters.withdrawal_posts.map((p: { amount: string; outcome: string }) => [p.amount, p.outcome])).toEqual([
      ['1.00', 'created'],
      ['-1.00', 'rejected'],
      ['2.50', 'created'],
    ]);
    expect(counters.withdrawal_posts[0].simulated_at).toBe('2026-11-20T21:00:00Z');
  });
});
