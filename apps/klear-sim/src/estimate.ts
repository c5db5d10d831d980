import type { SettlementEstimate } from '@app/klear-contract';
import type { SimulatorState } from './state';
import { formatTimestamp } from './clock';
import type { AssetClass } from './world';

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

/**
 * The open cycle's final figures per margin row of one asset class: each ungrouped subtrader, each
 * netted group (pnl and fees summed over its members, margin of the netted portfolio).
 */
function accumulate(
  state: SimulatorState,
  open: number,
  classIndex: number,
): { subtraders: Map<number, Accumulator>; groups: Map<number, Accumulator> } {
  const { world } = state;
  const prices = world.prices(open);
  const previousPrices = world.prices(open - 1);
  const subtraders = new Map<number, Accumulator>();
  const groups = new Map<number, Accumulator>();
  for (const row of world.marginRows(open, classIndex)) {
    const acc = { ...zero(), margin: row.margin, previousMargin: row.previousMargin };
    if (row.group >= 0) groups.set(row.group, acc);
    else subtraders.set(row.subtrader, acc);
  }
  for (let s = 0; s < world.subtraderCount; s++) {
    const group = world.groupOfSubtrader[s];
    const acc = (group >= 0 ? groups.get(group) : subtraders.get(s)) as Accumulator;
    for (const m of world.marketsOfClass[classIndex]) {
      const cell = world.cell(s, m, open, prices, previousPrices);
      acc.pnl += BigInt(cell.pnl);
      acc.fees += BigInt(cell.fee);
    }
  }
  return { subtraders, groups };
}

/**
 * `GET /margin/settlement_estimate_by_asset_class`: per asset class with activity, the aggregate,
 * the largest ESTIMATE_BREAKDOWN_CAP subtrader and group entries (by maintenance margin
 * requirement), how many were omitted, the previous settlement prices and the next runtime.
 */
export function settlementEstimateByAssetClass(state: SimulatorState, now: number, balance: bigint) {
  const { world } = state;
  const { open, elapsed, period } = progress(state, now);
  const estimates: Record<string, unknown> = {};
  world.assetClasses.forEach((assetClass: AssetClass, classIndex) => {
    if (world.marketsOfClass[classIndex].length === 0) return; // no activity in this class
    const { subtraders, groups } = accumulate(state, open, classIndex);
    const candidates = [
      ...[...subtraders].map(([s, acc]) => ({ kind: 0, id: world.subtraderIds[s], estimate: toEstimate(acc, elapsed, period) })),
      ...[...groups].map(([g, acc]) => ({ kind: 1, id: world.groupIds[g], estimate: toEstimate(acc, elapsed, period) })),
    ];
    const total = sumEstimates(candidates.map((c) => c.estimate));
    candidates.sort((a, b) => {
      const diff = b.estimate.maintenance_margin_required_centicents - a.estimate.maintenance_margin_required_centicents;
      if (diff !== 0n) return diff > 0n ? 1 : -1;
      return a.kind - b.kind || (a.id < b.id ? -1 : 1);
    });
    const kept = candidates.slice(0, ESTIMATE_BREAKDOWN_CAP);
    const subtraderBreakdowns: Record<string, SettlementEstimate> = {};
    const groupBreakdowns: Record<string, SettlementEstimate> = {};
    for (const entry of kept) (entry.kind === 0 ? subtraderBreakdowns : groupBreakdowns)[entry.id] = entry.estimate;
    const previousPrices = world.prices(open - 1);
    const prevSettlementPrices: Record<string, bigint> = {};
    for (const m of world.marketsOfClass[classIndex]) prevSettlementPrices[world.tickers[m]] = BigInt(previousPrices[m]);
    estimates[assetClass] = {
      next_runtime: formatTimestamp(state.schedule.timeOf(open)),
      user_breakdown: total,
      subtrader_breakdowns: subtraderBreakdowns,
      ...(groups.size > 0 ? { group_breakdowns: groupBreakdowns } : {}),
      prev_settlement_prices: prevSettlementPrices,
      omitted_subtrader_count: subtraders.size - Object.keys(subtraderBreakdowns).length,
      omitted_group_count: groups.size - Object.keys(groupBreakdowns).length,
    };
  });
  return { estimates, settlement_balance_centicents: balance };
}
