import { systemClock } from '@app/clock';
import { SimClock } from './clock';
import { START_NOW } from './options';
import { loadSimState, saveSimState } from './persistence';
import type { SimulatorOptions } from './options';
import { Salt, hashInts, hashString, hex8, unitInterval } from './prng';
import type { CycleSchedule } from './schedule';
import { dailySchedule, etDate, secondsSchedule } from './schedule';
import type { CycleTotals } from './world';
import { TradingWorld } from './world';

/** A late change to one settlement-detail cell's fees: a deterministic correction or an injected fault. */
export interface FeeAdjustment {
  cycle: number;
  subtrader: number;
  market: number;
  feeDelta: bigint;
  atMs: number;
  businessTransactionId: string;
  /** When its balance-history entry is dated, if not when it appears: a back-dated entry. */
  entryAtMs?: number;
}

/** A figure Klear publishes inconsistent with its own other figures (injected through /__sim/klear-errors). */
export interface KlearError {
  kind: 'wrong_detail_total' | 'wrong_margin_delta';
  cycle: number;
  subtrader: number;
  /** wrong_detail_total only. */
  market: number;
  /** Added to the detail's total_amount (or to the subtrader's margin delta); the obligation amount follows it. */
  error: bigint;
  atMs: number;
}

export interface ObligationView {
  cycle: number;
  /** Index into world.assetClasses. */
  classIndex: number;
  assetClass: string;
  id: string;
  executionMs: number;
  paymentMs: number;
  totals: CycleTotals;
  amount: bigint;
  /** Amount debited or credited to the buffer at payment time (before late changes). */
  paidAmount: bigint;
  lastUpdatedMs: number;
  /** Fee changes per cell (`subtrader * markets + market`). */
  feeAdjustments: Map<number, bigint>;
  /** Published totals that are not pnl - fees, per cell: the error added. */
  detailTotalErrors: Map<number, bigint>;
  /** Published margin deltas that are not requirement - previous requirement, per subtrader: the error added. */
  marginDeltaErrors: Map<number, bigint>;
  receive?: { id: string; amount: bigint; externalReference: string; createdMs: number };
}

export interface DepositRecord {
  seq: number;
  amount: bigint;
  atMs: number;
  businessTransactionId: string;
}

export interface WithdrawalRecord {
  seq: number;
  id: string;
  amount: bigint;
  createdMs: number;
  finalMs: number;
  processingMs: number;
  fails: boolean;
  /** `api`: a POST of the Klear API; `portal`: made by a person in the Klear portal (admin path). */
  source: 'api' | 'portal';
}

export type WithdrawalStatusName = 'pending' | 'processing' | 'processed' | 'failed';

/**
 * Everything the simulator knows: the seed-derived world and schedule, plus the state that cannot
 * be derived (deposits, withdrawals, injected obligation changes).
 */
export class SimulatorState {
  readonly world: TradingWorld;
  readonly schedule: CycleSchedule;
  readonly clock: SimClock;
  readonly deposits: DepositRecord[] = [];
  readonly withdrawals: WithdrawalRecord[] = [];
  readonly withdrawalsById = new Map<string, WithdrawalRecord>();
  readonly injectedAdjustments: FeeAdjustment[] = [];
  readonly klearErrors: KlearError[] = [];
  /** The instant the cycle numbering is anchored to (the start of the first run when the state is kept). */
  readonly anchorMs: number;
  /** Subtrader groups as GET /fcm/margin/subtrader_groups lists them (the world's, then API changes). */
  readonly groups = new Map<string, string[]>();
  /** Every membership change made through the API, oldest first (history for the admin path). */
  readonly groupChanges: Array<{ atMs: number; groupId: string; members: string[] | null }> = [];
  private groupSeq = 0;

  constructor(readonly options: SimulatorOptions) {
    const followsRealTime = options.startAt === START_NOW || options.cadence === 'seconds';
    const startMs = options.startAt === START_NOW ? systemClock.nowMs() : Date.parse(options.startAt);
    // A kept state restores the world's anchor (same cycle numbering, same ids) and what happened in it;
    // a world that follows real time then carries on from now.
    const restored = options.stateFile ? loadSimState(options.stateFile) : null;
    this.anchorMs = restored && followsRealTime ? Math.min(restored.anchorMs, startMs) : startMs;
    this.world = new TradingWorld(
      options.seed,
      options.subtraders,
      options.markets,
      options.assetClasses.split(','),
      options.marginGroups,
      options.fundingPerCycle,
    );
    this.schedule =
      options.cadence === 'daily'
        ? dailySchedule(this.anchorMs, options.days, options.settlementTimeEt)
        : secondsSchedule(this.anchorMs, options.days, options.cadenceSeconds);
    this.clock = new SimClock(startMs, followsRealTime);
    for (const deposit of restored?.deposits ?? []) this.deposits.push(deposit);
    for (const withdrawal of restored?.withdrawals ?? []) {
      this.withdrawals.push(withdrawal);
      this.withdrawalsById.set(withdrawal.id, withdrawal);
    }
    this.persist();
    this.world.groupIds.forEach((groupId, g) =>
      this.groups.set(
        groupId,
        this.world.groupMembers[g].map((s) => this.world.subtraderIds[s]),
      ),
    );
  }

  groupList(): Array<{ group_id: string; member_subtrader_ids: string[] }> {
    return [...this.groups].map(([groupId, members]) => ({ group_id: groupId, member_subtrader_ids: members }));
  }

  private checkMembers(members: string[], except?: string): void {
    const known = new Set(this.world.subtraderIds);
    for (const id of members) {
      if (!known.has(id)) throw new RangeError(`unknown subtrader ${id}`);
      for (const [groupId, others] of this.groups)
        if (groupId !== except && others.includes(id)) throw new RangeError(`${id} already belongs to ${groupId}`);
    }
  }

  /**
   * Creates a group (POST /fcm/margin/subtrader_groups). Membership changes are listed and kept as
   * history; the seeded world's margins keep the seeded groups (a simulator simplification).
   */
  createGroup(members: string[]): string {
    this.checkMembers(members);
    const groupId = `GRP-API-${String(++this.groupSeq).padStart(4, '0')}`;
    this.groups.set(groupId, [...members]);
    this.groupChanges.push({ atMs: this.now(), groupId, members: [...members] });
    return groupId;
  }

  updateGroup(groupId: string, members: string[]): void {
    if (!this.groups.has(groupId)) throw new RangeError(`unknown group ${groupId}`);
    this.checkMembers(members, groupId);
    this.groups.set(groupId, [...members]);
    this.groupChanges.push({ atMs: this.now(), groupId, members: [...members] });
  }

  deleteGroup(groupId: string): void {
    if (!this.groups.delete(groupId)) throw new RangeError(`unknown group ${groupId}`);
    this.groupChanges.push({ atMs: this.now(), groupId, members: null });
  }

  now(): number {
    return this.clock.now();
  }

  /** Index of the last settled cycle (its obligation exists) at `now`. */
  lastSettledCycle(now = this.now()): number {
    return this.schedule.lastIndexAtOrBefore(now);
  }

  openCycle(now = this.now()): number {
    return this.lastSettledCycle(now) + 1;
  }

  paymentMs(cycle: number): number {
    return this.schedule.timeOf(cycle) + this.options.paymentDelaySeconds * 1000;
  }

  initialDepositMs(): number {
    return this.schedule.timeOf(0) - Math.floor(this.schedule.periodMs / 2);
  }

  paymentTransactionId(cycle: number, classIndex = 0): string {
    const id = `bt-settle-${cycle}-${hex8(hashInts(this.options.seed, Salt.obligationId, cycle, 1))}`;
    return classIndex === 0 ? id : `${id}-${classIndex}`;
  }

  /** The deterministic late fee correction of a cycle (exactly one cycle in three), visible 1.25 periods later. */
  correction(cycle: number): FeeAdjustment | undefined {
    const seed = this.options.seed;
    if ((cycle + (hashInts(seed, Salt.correction) % 3)) % 3 !== 0) return undefined;
    return {
      cycle,
      subtrader: hashInts(seed, Salt.correction, cycle, 1) % this.world.subtraderCount,
      market: hashInts(seed, Salt.correction, cycle, 2) % this.world.marketCount,
      feeDelta: BigInt(100 + (hashInts(seed, Salt.correction, cycle, 3) % 9_900)),
      atMs: this.schedule.timeOf(cycle) + Math.round(this.schedule.periodMs * 1.25),
      businessTransactionId: `bt-adjust-${cycle}-${hex8(hashInts(seed, Salt.correction, cycle, 4))}`,
    };
  }

  visibleAdjustments(cycle: number, now: number): FeeAdjustment[] {
    const adjustments: FeeAdjustment[] = [];
    const correction = this.correction(cycle);
    if (correction !== undefined && correction.atMs <= now) adjustments.push(correction);
    for (const injected of this.injectedAdjustments) {
      if (injected.cycle === cycle && injected.atMs <= now) adjustments.push(injected);
    }
    return adjustments;
  }

  /** Index of the asset class a market belongs to. */
  classOfMarket(market: number): number {
    return market % this.world.assetClasses.length;
  }

  /** Every asset class's obligation of a settled cycle, as Klear shows them at `now`. */
  obligations(cycle: number, now = this.now()): ObligationView[] {
    return this.world.assetClasses.map((_, classIndex) => this.obligation(cycle, now, classIndex));
  }

  /** The obligation of a settled cycle and asset class as Klear shows it at `now`. */
  obligation(cycle: number, now = this.now(), classIndex = 0): ObligationView {
    const executionMs = this.schedule.timeOf(cycle);
    const paymentMs = this.paymentMs(cycle);
    const base = this.world.cycleTotals(cycle, classIndex);
    const paidAmount = base.pnl - base.fees - base.maintenanceMarginDelta + base.funding;
    const feeAdjustments = new Map<number, bigint>();
    let feeChange = 0n;
    let lastUpdatedMs = executionMs;
    for (const adjustment of this.visibleAdjustments(cycle, now)) {
      if (this.classOfMarket(adjustment.market) !== classIndex) continue;
      const key = adjustment.subtrader * this.world.marketCount + adjustment.market;
      feeAdjustments.set(key, (feeAdjustments.get(key) ?? 0n) + adjustment.feeDelta);
      feeChange += adjustment.feeDelta;
      lastUpdatedMs = Math.max(lastUpdatedMs, adjustment.atMs);
    }
    const totals = { ...base, fees: base.fees + feeChange };
    // Klear's own inconsistencies: the amount follows the published (wrong) totals and deltas.
    const detailTotalErrors = new Map<number, bigint>();
    const marginDeltaErrors = new Map<number, bigint>();
    let amountError = 0n;
    for (const error of this.klearErrors) {
      if (error.cycle !== cycle || error.atMs > now) continue;
      if (error.kind === 'wrong_detail_total' ? this.classOfMarket(error.market) !== classIndex : classIndex !== 0) continue;
      if (error.kind === 'wrong_detail_total') {
        const key = error.subtrader * this.world.marketCount + error.market;
        detailTotalErrors.set(key, (detailTotalErrors.get(key) ?? 0n) + error.error);
        amountError += error.error;
      } else {
        marginDeltaErrors.set(error.subtrader, (marginDeltaErrors.get(error.subtrader) ?? 0n) + error.error);
        amountError -= error.error;
      }
      lastUpdatedMs = Math.max(lastUpdatedMs, error.atMs);
    }
    // An open cycle's obligation (not executed yet) is stamped when its cycle opened (the previous
    // execution): stable from pull to pull, so the product keeps one version of it until it executes.
    if (lastUpdatedMs > now) lastUpdatedMs = cycle > 0 ? Math.min(now, this.schedule.timeOf(cycle - 1)) : now;
    const view: ObligationView = {
      cycle,
      classIndex,
      assetClass: this.world.assetClasses[classIndex],
      id: this.world.obligationId(cycle, etDate(executionMs), classIndex),
      executionMs,
      paymentMs,
      totals,
      amount: totals.pnl - totals.fees - totals.maintenanceMarginDelta + totals.funding + amountError,
      paidAmount,
      lastUpdatedMs,
      feeAdjustments,
      detailTotalErrors,
      marginDeltaErrors,
    };
    if (paidAmount > 0n && paymentMs <= now) {
      view.receive = {
        id: classIndex === 0 ? `rcv-${cycle}` : `rcv-${cycle}-${classIndex}`,
        amount: paidAmount,
        externalReference: this.paymentTransactionId(cycle, classIndex),
        createdMs: paymentMs,
      };
      view.lastUpdatedMs = Math.max(view.lastUpdatedMs, paymentMs);
    }
    return view;
  }

  /**
   * The cycle whose obligations are Klear's "active obligations" at `now`, if any: the settled cycle
   * whose payment is pending, else (option `activeObligations: 'open_cycle'`) the open cycle.
   */
  activeObligationCycle(now = this.now()): number | undefined {
    const last = this.lastSettledCycle(now);
    if (last >= 0 && this.paymentMs(last) > now) return last;
    return this.options.activeObligations === 'open_cycle' ? last + 1 : undefined;
  }

  addDeposit(amount: bigint, businessTransactionId?: string): DepositRecord {
    const seq = this.deposits.length + 1;
    const deposit = {
      seq,
      amount,
      atMs: this.now(),
      businessTransactionId: businessTransactionId ?? `bt-deposit-${seq}-${hex8(hashInts(this.options.seed, Salt.feed, seq, 7))}`,
    };
    this.deposits.push(deposit);
    this.persist();
    return deposit;
  }

  addWithdrawal(amount: bigint, source: WithdrawalRecord['source'] = 'api'): WithdrawalRecord {
    const seq = this.withdrawals.length + 1;
    const id = `wd-${hex8(hashInts(this.options.seed, Salt.withdrawalId, seq))}-${String(seq).padStart(6, '0')}`;
    const createdMs = this.now();
    const [pendingSeconds, processingSeconds] = this.options.withdrawalDelays;
    const record: WithdrawalRecord = {
      seq,
      id,
      amount,
      createdMs,
      processingMs: createdMs + pendingSeconds * 1000,
      finalMs: createdMs + (pendingSeconds + processingSeconds) * 1000,
      fails: unitInterval(hashInts(this.options.seed, Salt.withdrawalFailure, hashString(id))) < this.options.withdrawalFailureRate,
      source,
    };
    this.withdrawals.push(record);
    this.withdrawalsById.set(id, record);
    this.persist();
    return record;
  }

  /** Writes the kept state (`stateFile`), when there is one. */
  private persist(): void {
    if (this.options.stateFile) saveSimState(this.options.stateFile, this);
  }

  withdrawalStatus(record: WithdrawalRecord, now = this.now()): WithdrawalStatusName {
    if (now < record.processingMs) return 'pending';
    if (now < record.finalMs) return 'processing';
    return record.fails ? 'failed' : 'processed';
  }

  /** Makes Klear publish a figure inconsistent with its others, from now on (the obligation's last_updated_ts moves). */
  addKlearError(error: Omit<KlearError, 'atMs'>): KlearError {
    const recorded = { ...error, atMs: this.now() };
    this.klearErrors.push(recorded);
    return recorded;
  }

  /** Injects a fee change on an already published obligation (the "changed between page reads" fault). */
  injectObligationChange(cycle: number, nonce: number, entryBackMs?: number): FeeAdjustment {
    const seed = this.options.seed;
    const adjustment: FeeAdjustment = {
      cycle,
      subtrader: hashInts(seed, Salt.fault, cycle, nonce) % this.world.subtraderCount,
      market: hashInts(seed, Salt.fault, cycle, nonce, 1) % this.world.marketCount,
      feeDelta: BigInt(1 + (hashInts(seed, Salt.fault, cycle, nonce, 2) % 5_000)),
      atMs: this.now(),
      businessTransactionId: `bt-change-${cycle}-${nonce}`,
      ...(entryBackMs === undefined ? {} : { entryAtMs: this.now() - entryBackMs }),
    };
    this.injectedAdjustments.push(adjustment);
    return adjustment;
  }
}
