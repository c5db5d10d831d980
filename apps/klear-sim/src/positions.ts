import type { GuarantyFundBalanceResponse, LargeTraderPositionsResponse } from '@app/klear-contract';
import { formatTimestamp } from './clock';
import { etDate, etDayEndExclusive, etDayStart } from './schedule';
import type { SimulatorState } from './state';

/** Guaranty fund contribution: a floor plus 5% of the requirement after the last settled cycle. */
const GUARANTY_FLOOR_CENTICENTS = 1_000_000_000n;

export function guarantyFundBalance(state: SimulatorState, now: number): GuarantyFundBalanceResponse {
  const last = state.lastSettledCycle(now);
  const margin = last >= 0 ? state.world.cycleTotals(last).maintenanceMargin : 0n;
  return {
    user_id: state.options.adminUserId,
    amount_centicents: GUARANTY_FLOOR_CENTICENTS + (margin * 5n) / 100n,
    updated_ts: formatTimestamp(last >= 0 ? state.schedule.timeOf(last) : state.initialDepositMs()),
  };
}

/** The last cycle settled on an ET day (at `now`), or undefined. */
export function lastCycleOfDay(state: SimulatorState, date: string, now: number): number | undefined {
  const cycle = state.schedule.lastIndexAtOrBefore(Math.min(now, etDayEndExclusive(etDayStart(date)) - 1));
  if (cycle < 0 || etDate(state.schedule.timeOf(cycle)) !== date) return undefined;
  return cycle;
}

/**
 * Aggregate positions per market (summed over subtraders) after the day's last cycle whose absolute
 * size reaches the reporting threshold; empty for a day without a settled cycle.
 */
export function largeTraderPositions(state: SimulatorState, reportDate: string | undefined, now: number): LargeTraderPositionsResponse {
  const { world } = state;
  const last = state.lastSettledCycle(now);
  const date = reportDate ?? (last >= 0 ? etDate(state.schedule.timeOf(last)) : etDate(now));
  const cycle = lastCycleOfDay(state, date, now);
  const positions: LargeTraderPositionsResponse['positions'] = [];
  if (cycle !== undefined) {
    const threshold = BigInt(state.options.largeTraderThreshold);
    for (let m = 0; m < world.marketCount; m++) {
      let net = 0n;
      for (let s = 0; s < world.subtraderCount; s++) net += BigInt(world.position(s, m, cycle));
      if (net >= threshold || -net >= threshold) positions.push({ market_ticker: world.tickers[m], position: net });
    }
  }
  return { user_id: state.options.adminUserId, report_date: date, positions };
}
