import type { SettlementEstimate } from '@app/klear-contract';
import type { SimulatorState } from './state';
import type { AssetClass } from './world';
import { ASSET_CLASSES } from './world';

/** Klear keeps at most this many subtrader + group entries per asset class. */
export const ESTIMATE_BREAKDOWN_CAP = 1_000;

interface Accumulator {
  pnl: bigint;
  fees: bigint;
  margin: bigint;
  previousMargin: bigint;
}

const zero = (): Accumulator => ({ pnl: 0n, fees: 0n, margin: 0n, previousMargin: 0n });

/**
 * The intraday projection of the open cycle: its final figures scaled by the elapsed share of the
 * cycle (integer arithmetic, truncated), so the estimate moves all day and converges at settlement.
 */
function progress(state: SimulatorState, now: number): { open: number; elapsed: bigint; period: bigint } {
  const open = state.openCycle(now);
  const start = state.schedule.timeOf(open - 1);
  const end = state.schedule.timeOf(open);
  return { open, elapsed: BigInt(Math.max(0, now - start)), period: BigInt(end - start) };
}

function toEstimate(acc: Accumulator, elapsed: bigint, period: bigint): SettlementEstimate {
  const variation = (acc.pnl * elapsed) / period;
  const fees = (acc.fees * elapsed) / period;
  const required = acc.previousMargin + ((acc.margin - acc.previousMargin) * elapsed) / period;
  const delta = required - acc.previousMargin;
  return {
    variation_margin_centicents: variation,
    total_fees_centicents: fees,
    maintenance_margin_delta_centicents: delta,
    maintenance_margin_required_centicents: required,
    total_amount_centicents: variation - fees - delta,
  };
}

function sumEstimates(estimates: Iterable<SettlementEstimate>): SettlementEstimate {
  const total: SettlementEstimate = {
    variation_margin_centicents: 0n,
    total_fees_centicents: 0n,
    maintenance_margin_delta_centicents: 0n,
    maintenance_margin_required_centicents: 0n,
    total_amount_centicents: 0n,
  };
  for (const estimate of estimates) {
    total.variation_margin_centicents += estimate.variation_margin_centicents;
    total.total_fees_centicents += estimate.total_fees_centicents;
    total.maintenance_margin_delta_centicents += estimate.maintenance_margin_delta_centicents;
    total.maintenance_margin_required_centicents += estimate.maintenance_margin_required_centicents;
    total.total_amount_centicents += estimate.total_amount_centicents;
  }
  return total;
}

/** Per subtrader and asset class accumulators of the open cycle's final figures. */
function accumulate(state: SimulatorState, open: number): Accumulator[][] {
  const { world } = state;
  const prices = world.prices(open);
  const previousPrices = world.prices(open - 1);
  const classIndex = new Map(ASSET_CLASSES.map((assetClass, index) => [assetClass, index]));
  const result: Accumulator[][] = [];
  for (let s = 0; s < world.subtraderCount; s++) {
    const perClass = ASSET_CLASSES.map(zero);
    for (let m = 0; m < world.marketCount; m++) {
      const cell = world.cell(s, m, open, prices, previousPrices);
      const acc = perClass[classIndex.get(world.assetClassOfMarket[m]) as number];
      acc.pnl += BigInt(cell.pnl);
      acc.fees += BigInt(cell.fee);
      acc.margin += BigInt(world.positionMargin(m, cell.position));
      acc.previousMargin += BigInt(world.positionMargin(m, cell.previousPosition));
    }
    result.push(perClass);
  }
  return result;
}

function merge(accumulators: Accumulator[]): Accumulator {
  const total = zero();
  for (const acc of accumulators) {
    total.pnl += acc.pnl;
    total.fees += acc.fees;
    total.margin += acc.margin;
    total.previousMargin += acc.previousMargin;
  }
  return total;
}

export function settlementEstimate(state: SimulatorState, now: number, balance: bigint) {
  const { open, elapsed, period } = progress(state, now);
  // A subtrader's estimate is the sum of its per-asset-class estimates, so both endpoints add up alike.
  const perSubtrader = accumulate(state, open).map((perClass) => sumEstimates(perClass.map((acc) => toEstimate(acc, elapsed, period))));
  const breakdowns: Record<string, SettlementEstimate> = {};
  perSubtrader.forEach((estimate, s) => (breakdowns[state.world.subtraderIds[s]] = estimate));
  return {
    user_breakdown: sumEstimates(perSubtrader),
    subtrader_breakdowns: breakdowns,
    settlement_balance_centicents: balance,
  };
}

export function settlementEstimateByAssetClass(state: SimulatorState, now: number, balance: bigint) {
  const { world } = state;
  const { open, elapsed, period } = progress(state, now);
  const accumulators = accumulate(state, open);
  const assetClasses: Record<string, unknown> = {};
  ASSET_CLASSES.forEach((assetClass: AssetClass, classIndex) => {
    if (!world.assetClassOfMarket.includes(assetClass)) return; // no activity in this class
    const subtraderEstimates = accumulators.map((perClass) => toEstimate(perClass[classIndex], elapsed, period));
    const groupAccumulators = world.groupIds.map(zero);
    accumulators.forEach((perClass, s) => {
      groupAccumulators[world.groupOfSubtrader[s]] = merge([groupAccumulators[world.groupOfSubtrader[s]], perClass[classIndex]]);
    });
    const groupEstimates = groupAccumulators.map((acc) => toEstimate(acc, elapsed, period));
    const candidates = [
      ...subtraderEstimates.map((estimate, s) => ({ kind: 0, id: world.subtraderIds[s], estimate })),
      ...groupEstimates.map((estimate, g) => ({ kind: 1, id: world.groupIds[g], estimate })),
    ];
    candidates.sort((a, b) => {
      const diff = b.estimate.maintenance_margin_required_centicents - a.estimate.maintenance_margin_required_centicents;
      if (diff !== 0n) return diff > 0n ? 1 : -1;
      return a.kind - b.kind || (a.id < b.id ? -1 : 1);
    });
    const kept = candidates.slice(0, ESTIMATE_BREAKDOWN_CAP);
    const subtraderBreakdowns: Record<string, SettlementEstimate> = {};
    const groupBreakdowns: Record<string, SettlementEstimate> = {};
    for (const entry of kept) (entry.kind === 0 ? subtraderBreakdowns : groupBreakdowns)[entry.id] = entry.estimate;
    assetClasses[assetClass] = {
      user_breakdown: sumEstimates(subtraderEstimates),
      subtrader_breakdowns: subtraderBreakdowns,
      group_breakdowns: groupBreakdowns,
      omitted_subtrader_count: world.subtraderCount - Object.keys(subtraderBreakdowns).length,
      omitted_group_count: world.groupIds.length - Object.keys(groupBreakdowns).length,
    };
  });
  return { asset_classes: assetClasses, settlement_balance_centicents: balance };
}
