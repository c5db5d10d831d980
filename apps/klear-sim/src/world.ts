import { Salt, hashInts, hex8 } from './prng';

export const ASSET_CLASSES = ['crypto', 'equity_index', 'commodity', 'fx'] as const;
export type AssetClass = (typeof ASSET_CLASSES)[number];
const ASSET_CODES: Record<AssetClass, string> = { crypto: 'CRY', equity_index: 'IDX', commodity: 'CMD', fx: 'FXR' };

/** Subtraders per group in the by-asset-class estimate. */
const GROUP_SIZE = 8;
const MAX_POSITION = 1_000;
const PRICE_NOISE = 500;

/** Totals of one cycle before any late change: sums over every (subtrader, market) cell. */
export interface CycleTotals {
  pnl: bigint;
  fees: bigint;
  maintenanceMargin: bigint;
  maintenanceMarginDelta: bigint;
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

  constructor(
    readonly seed: number,
    readonly subtraderCount: number,
    readonly marketCount: number,
  ) {
    this.assetClassOfMarket = Array.from({ length: marketCount }, (_, m) => ASSET_CLASSES[m % ASSET_CLASSES.length]);
    this.tickers = this.assetClassOfMarket.map((assetClass, m) => `${ASSET_CODES[assetClass]}-PERP-${String(m + 1).padStart(3, '0')}`);
    this.subtraderIds = Array.from({ length: subtraderCount }, (_, s) => `ST-${String(s + 1).padStart(5, '0')}`);
    const groupCount = Math.ceil(subtraderCount / GROUP_SIZE);
    this.groupIds = Array.from({ length: groupCount }, (_, g) => `GRP-${String(g + 1).padStart(4, '0')}`);
    this.groupOfSubtrader = Int32Array.from({ length: subtraderCount }, (_, s) => s % groupCount);
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

  /** Base totals of a cycle (no late corrections), computed once per cycle and cached. */
  cycleTotals(cycle: number): CycleTotals {
    const cached = this.totalsCache.get(cycle);
    if (cached !== undefined) return cached;
    const prices = this.prices(cycle);
    const previousPrices = this.prices(cycle - 1);
    let pnl = 0n;
    let fees = 0n;
    let margin = 0n;
    let previousMargin = 0n;
    for (let s = 0; s < this.subtraderCount; s++) {
      // Per-subtrader partial sums stay below 2^53 (markets <= 1,000); totals are bigint.
      let subPnl = 0;
      let subFees = 0;
      let subMargin = 0;
      let subPreviousMargin = 0;
      for (let m = 0; m < this.marketCount; m++) {
        const cell = this.cell(s, m, cycle, prices, previousPrices);
        subPnl += cell.pnl;
        subFees += cell.fee;
        subMargin += this.positionMargin(m, cell.position);
        subPreviousMargin += this.positionMargin(m, cell.previousPosition);
      }
      pnl += BigInt(subPnl);
      fees += BigInt(subFees);
      margin += BigInt(subMargin);
      previousMargin += BigInt(subPreviousMargin);
    }
    const totals = { pnl, fees, maintenanceMargin: margin, maintenanceMarginDelta: margin - previousMargin };
    this.totalsCache.set(cycle, totals);
    return totals;
  }

  obligationId(cycle: number, executionDate: string): string {
    return `obl-${executionDate.replaceAll('-', '')}-${hex8(hashInts(this.seed, Salt.obligationId, cycle))}`;
  }

  settlementDetailId(cycle: number, subtrader: number, market: number): string {
    return `sd-${cycle}-${subtrader}-${market}`;
  }

  marginDetailId(cycle: number, subtrader: number): string {
    return `mm-${cycle}-${subtrader}`;
  }
}
