import { Salt, hashInts, hex8 } from './prng';

/** Klear's asset class names: "Crypto" is the only live one today; others come by option. */
export type AssetClass = string;
export const DEFAULT_ASSET_CLASS = 'Crypto';

/** Ticker prefix of an asset class: CRY for Crypto, else its first three letters. */
export function assetClassCode(assetClass: AssetClass): string {
  return assetClass === DEFAULT_ASSET_CLASS
    ? 'CRY'
    : assetClass
        .replace(/[^A-Za-z]/g, '')
        .slice(0, 3)
        .toUpperCase()
        .padEnd(3, 'X');
}

/** Subtraders per netted margin group (a group gathers every third subtrader, GROUP_SIZE at a time). */
const GROUP_SIZE = 4;
/** Funding rate per funding time, in basis points, drawn in [-FUNDING_MAX_BPS, FUNDING_MAX_BPS]. */
const FUNDING_MAX_BPS = 5;
const MAX_POSITION = 1_000;
const PRICE_NOISE = 500;

/** Totals of one cycle before any late change: sums over every (subtrader, market) cell. */
export interface CycleTotals {
  pnl: bigint;
  fees: bigint;
  maintenanceMargin: bigint;
  maintenanceMarginDelta: bigint;
  /** Sum of the cycle's funding payments (signed: negative = paid by the member's subtraders). */
  funding: bigint;
}

/** One funding payment of a (subtrader, market) at one funding time of a cycle. */
export interface FundingCell {
  position: number;
  notional: number;
  amount: number;
}

/** One row of a cycle's maintenance margin: a subtrader's, or a netted group's (subtrader -1). */
export interface MarginRow {
  subtrader: number;
  group: number;
  margin: bigint;
  previousMargin: bigint;
}

/** One (subtrader, market) cell of a cycle. Values are exact integers bounded far below 2^53. */
export interface Cell {
  previousPosition: number;
  position: number;
  pnl: number;
  fee: number;
}

/**
 * The deterministic trading world: markets, subtraders, positions and prices as pure functions of
 * (seed, indices). Positions change every second cycle (with a per-cell phase), so fees are zero on
 * about half of the cells; pnl is the previous position times the price move.
 */
export class TradingWorld {
  readonly tickers: string[];
  readonly assetClassOfMarket: AssetClass[];
  readonly subtraderIds: string[];
  readonly groupIds: string[];
  readonly groupOfSubtrader: Int32Array;
  private readonly basePrice: Int32Array;
  private readonly feeRate: Int32Array;
  private readonly marginRate: Int32Array;
  private readonly priceCache = new Map<number, Int32Array>();
  private readonly totalsCache = new Map<number, CycleTotals>();

  /** Member subtraders (indices) of each group. */
  readonly groupMembers: number[][];
  /** Markets of each asset class (indices into tickers). */
  readonly marketsOfClass: number[][];

  constructor(
    readonly seed: number,
    readonly subtraderCount: number,
    readonly marketCount: number,
    readonly assetClasses: AssetClass[] = [DEFAULT_ASSET_CLASS],
    /** Netted margin groups (every third subtrader, GROUP_SIZE to a group); none when false. */
    readonly marginGroups = false,
    /** Funding times per settlement cycle (0: no funding). */
    readonly fundingPerCycle = 0,
  ) {
    this.assetClassOfMarket = Array.from({ length: marketCount }, (_, m) => assetClasses[m % assetClasses.length]);
    this.marketsOfClass = assetClasses.map((_, c) =>
      Array.from({ length: marketCount }, (__, m) => m).filter((m) => m % assetClasses.length === c),
    );
    this.tickers = this.assetClassOfMarket.map((assetClass, m) => `${assetClassCode(assetClass)}-PERP-${String(m + 1).padStart(3, '0')}`);
    this.subtraderIds = Array.from({ length: subtraderCount }, (_, s) => `ST-${String(s + 1).padStart(5, '0')}`);
    const grouped = marginGroups ? Array.from({ length: subtraderCount }, (_, s) => s).filter((s) => s % 3 === 0) : [];
    const groupCount = Math.ceil(grouped.length / GROUP_SIZE);
    this.groupIds = Array.from({ length: groupCount }, (_, g) => `GRP-${String(g + 1).padStart(4, '0')}`);
    this.groupOfSubtrader = new Int32Array(subtraderCount).fill(-1);
    grouped.forEach((s, i) => (this.groupOfSubtrader[s] = Math.floor(i / GROUP_SIZE)));
    this.groupMembers = this.groupIds.map((_, g) => grouped.filter((s) => this.groupOfSubtrader[s] === g));
    this.basePrice = Int32Array.from({ length: marketCount }, (_, m) => 1_000 + (hashInts(seed, Salt.basePrice, m) % 8_000));
    this.feeRate = Int32Array.from({ length: marketCount }, (_, m) => 1 + (hashInts(seed, Salt.feeRate, m) % 20));
    this.marginRate = Int32Array.from({ length: marketCount }, (_, m) => 200 + (hashInts(seed, Salt.marginRate, m) % 800));
  }

  /** Settlement prices of a cycle, in centicents per contract. */
  prices(cycle: number): Int32Array {
    let prices = this.priceCache.get(cycle);
    if (prices === undefined) {
      prices = Int32Array.from(
        { length: this.marketCount },
        (_, m) => this.basePrice[m] + (hashInts(this.seed, Salt.price, m, cycle) % (2 * PRICE_NOISE + 1)) - PRICE_NOISE,
      );
      if (this.priceCache.size > 64) this.priceCache.clear();
      this.priceCache.set(cycle, prices);
    }
    return prices;
  }

  /** Signed contracts held by a subtrader in a market after a cycle (a quarter of the cells stay flat). */
  position(subtrader: number, market: number, cycle: number): number {
    if (hashInts(this.seed, Salt.activity, subtrader, market) % 4 === 0) return 0;
    const phase = hashInts(this.seed, Salt.activity, subtrader, market, 1) & 1;
    const block = Math.floor((cycle + 2 + phase) / 2);
    return (hashInts(this.seed, Salt.position, subtrader, market, block) % (2 * MAX_POSITION + 1)) - MAX_POSITION;
  }

  cell(subtrader: number, market: number, cycle: number, prices: Int32Array, previousPrices: Int32Array): Cell {
    const previousPosition = this.position(subtrader, market, cycle - 1);
    const position = this.position(subtrader, market, cycle);
    return {
      previousPosition,
      position,
      pnl: previousPosition * (prices[market] - previousPrices[market]),
      fee: Math.abs(position - previousPosition) * this.feeRate[market],
    };
  }

  /** Maintenance margin of one position, in centicents. */
  positionMargin(market: number, position: number): number {
    return Math.abs(position) * this.marginRate[market];
  }

  feeRateOf(market: number): number {
    return this.feeRate[market];
  }

  /** Requirement of a subtrader after a cycle, optionally restricted to one asset class. */
  subtraderMargin(subtrader: number, cycle: number, assetClass?: AssetClass): bigint {
    let margin = 0;
    for (let m = 0; m < this.marketCount; m++) {
      if (assetClass !== undefined && this.assetClassOfMarket[m] !== assetClass) continue;
      margin += this.positionMargin(m, this.position(subtrader, m, cycle));
    }
    return BigInt(margin);
  }

  /**
   * Maintenance margin rows of a cycle for one asset class: one per ungrouped subtrader, one per
   * netted group (the margin of the group's summed positions, not the sum of its members').
   */
  marginRows(cycle: number, classIndex = 0): MarginRow[] {
    const markets = this.marketsOfClass[classIndex];
    const rows: MarginRow[] = [];
    for (let s = 0; s < this.subtraderCount; s++) {
      if (this.groupOfSubtrader[s] >= 0) continue;
      let margin = 0;
      let previous = 0;
      for (const m of markets) {
        margin += this.positionMargin(m, this.position(s, m, cycle));
        previous += this.positionMargin(m, this.position(s, m, cycle - 1));
      }
      rows.push({ subtrader: s, group: -1, margin: BigInt(margin), previousMargin: BigInt(previous) });
    }
    for (let g = 0; g < this.groupIds.length; g++) {
      let margin = 0;
      let previous = 0;
      for (const m of markets) {
        let net = 0;
        let previousNet = 0;
        for (const s of this.groupMembers[g]) {
          net += this.position(s, m, cycle);
          previousNet += this.position(s, m, cycle - 1);
        }
        margin += this.positionMargin(m, net);
        previous += this.positionMargin(m, previousNet);
      }
      rows.push({ subtrader: -1, group: g, margin: BigInt(margin), previousMargin: BigInt(previous) });
    }
    return rows;
  }

  /** The funding times of a cycle: fundingPerCycle evenly spaced instants after the previous cycle, the last at the cycle. */
  fundingTimes(previousCycleMs: number, cycleMs: number): number[] {
    return Array.from(
      { length: this.fundingPerCycle },
      (_, k) => previousCycleMs + Math.round(((k + 1) * (cycleMs - previousCycleMs)) / this.fundingPerCycle),
    );
  }

  /** Funding rate (basis points, signed) of a market at funding time k of a cycle. */
  fundingRateBps(market: number, cycle: number, k: number): number {
    return (hashInts(this.seed, Salt.price, market, cycle, 1_000 + k) % (2 * FUNDING_MAX_BPS + 1)) - FUNDING_MAX_BPS;
  }

  /**
   * The funding a subtrader pays (negative) or receives in a market at funding time k of a cycle:
   * the position held since the previous cycle times the previous settlement price times the rate
   * (longs pay a positive rate), truncated to whole centicents. Zero-position cells pay nothing.
   */
  fundingCell(subtrader: number, market: number, cycle: number, k: number, previousPrices: Int32Array): FundingCell {
    const position = this.position(subtrader, market, cycle - 1);
    const notional = Math.abs(position) * previousPrices[market];
    const amount = -Math.trunc((position * previousPrices[market] * this.fundingRateBps(market, cycle, k)) / 10_000);
    return { position, notional, amount: amount === 0 ? 0 : amount };
  }

  /** Base totals of a cycle for one asset class (no late corrections), computed once and cached. */
  cycleTotals(cycle: number, classIndex = 0): CycleTotals {
    const key = cycle * 16 + classIndex;
    const cached = this.totalsCache.get(key);
    if (cached !== undefined) return cached;
    const prices = this.prices(cycle);
    const previousPrices = this.prices(cycle - 1);
    const markets = this.marketsOfClass[classIndex];
    let pnl = 0n;
    let fees = 0n;
    let funding = 0n;
    for (let s = 0; s < this.subtraderCount; s++) {
      // Per-subtrader partial sums stay below 2^53 (markets <= 1,000); totals are bigint.
      let subPnl = 0;
      let subFees = 0;
      let subFunding = 0;
      for (const m of markets) {
        const cell = this.cell(s, m, cycle, prices, previousPrices);
        subPnl += cell.pnl;
        subFees += cell.fee;
        for (let k = 0; k < this.fundingPerCycle; k++) subFunding += this.fundingCell(s, m, cycle, k, previousPrices).amount;
      }
      pnl += BigInt(subPnl);
      fees += BigInt(subFees);
      funding += BigInt(subFunding);
    }
    let margin = 0n;
    let previousMargin = 0n;
    for (const row of this.marginRows(cycle, classIndex)) {
      margin += row.margin;
      previousMargin += row.previousMargin;
    }
    const totals = { pnl, fees, maintenanceMargin: margin, maintenanceMarginDelta: margin - previousMargin, funding };
    // Five bigints a cycle and asset class: a long world (a year of cycles, several classes) stays cached,
    // so the buffer balance (the sum over every settled cycle) never recomputes the whole history.
    if (this.totalsCache.size > 65_536) this.totalsCache.clear();
    this.totalsCache.set(key, totals);
    return totals;
  }

  /** The obligation id of a cycle's asset class (the first class keeps the historical form). */
  obligationId(cycle: number, executionDate: string, classIndex = 0): string {
    const base = `obl-${executionDate.replaceAll('-', '')}-${hex8(hashInts(this.seed, Salt.obligationId, cycle))}`;
    return classIndex === 0 ? base : `${base}-${assetClassCode(this.assetClasses[classIndex]).toLowerCase()}`;
  }

  fundingPaymentId(cycle: number, subtrader: number, market: number, k: number): string {
    return `fp-${cycle}-${subtrader}-${market}-${k}`;
  }

  groupMarginDetailId(cycle: number, group: number): string {
    return `mm-${cycle}-g${group}`;
  }

  settlementDetailId(cycle: number, subtrader: number, market: number): string {
    return `sd-${cycle}-${subtrader}-${market}`;
  }

  marginDetailId(cycle: number, subtrader: number): string {
    return `mm-${cycle}-${subtrader}`;
  }
}
