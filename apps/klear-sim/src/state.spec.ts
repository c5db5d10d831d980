import { describe, expect, it } from '@jest/globals';
import { balanceEvents, bufferBalance } from './buffer';
import { resolveOptions } from './options';
import { SimulatorState } from './state';

const stateFor = (seed: number) => new SimulatorState(resolveOptions({ seed, subtraders: 7, markets: 5, days: 9 }));

describe('simulated world', () => {
  it('derives obligations whose amount follows the sign convention total = pnl - fees, amount = total - margin delta', () => {
    const state = stateFor(4);
    for (let cycle = 0; cycle < 9; cycle++) {
      const view = state.obligation(cycle);
      expect(view.amount).toBe(view.totals.pnl - view.totals.fees - view.totals.maintenanceMarginDelta);
      let margin = 0n;
      for (let s = 0; s < 7; s++) margin += state.world.subtraderMargin(s, cycle);
      expect(view.totals.maintenanceMargin).toBe(margin);
    }
  });

  it('is a pure function of the seed', () => {
    const a = stateFor(4);
    const b = stateFor(4);
    const c = stateFor(5);
    expect(balanceEvents(a)).toEqual(balanceEvents(b));
    expect(a.obligation(3)).toEqual(b.obligation(3));
    expect(c.obligation(3).totals).not.toEqual(a.obligation(3).totals);
  });

  it('moves the buffer by each paid obligation and by every late correction', () => {
    const state = stateFor(4);
    const events = balanceEvents(state);
    const payments = events.filter((e) => e.reason.startsWith('settlement_'));
    expect(payments).toHaveLength(9);
    for (const payment of payments) {
      const cycle = Number(payment.businessTransactionId.split('-')[2]);
      expect(payment.balanceDelta).toBe(state.obligation(cycle, payment.atMs).amount);
    }
    const corrections = events.filter((e) => e.reason === 'obligation_adjustment');
    expect(corrections.length).toBeGreaterThanOrEqual(2);
    const { available } = bufferBalance(state);
    expect(available).toBe(events.reduce((sum, e) => sum + e.balanceDelta, 0n));
  });
});

describe('seconds cadence', () => {
  it('settles new cycles as real time passes', async () => {
    const state = new SimulatorState(
      resolveOptions({ seed: 1, subtraders: 2, markets: 2, days: 3, cadence: 'seconds', cadenceSeconds: 1 }),
    );
    expect(state.options.paymentDelaySeconds).toBe(0);
    const first = state.lastSettledCycle();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(state.lastSettledCycle()).toBeGreaterThan(first);
  });
});
