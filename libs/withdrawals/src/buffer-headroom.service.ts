import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { isDatabaseError } from '@app/db';
import { KlearClientError } from '@app/klear-client';
import { sumCenticents } from '@app/money';
import { checkHeadroom, payableOf, type HeadroomResult } from './headroom-check';
import { BufferBalanceUnavailable } from './withdrawal-errors';
import { BUFFER_POSITION_SOURCE, type BufferBalanceReading, type BufferPositionSource } from './withdrawal-ports';
import { WithdrawalRepository } from './withdrawal.repository';

/** What could be withdrawn now (every term), and the requests waiting for approval as a separate term. */
export interface HeadroomNow {
  check: HeadroomResult;
  pendingApproval: { total: bigint; ids: string[] };
  /** headroom - pending approval: what would be left if every waiting request were approved. */
  afterPendingApproval: bigint;
}

export interface HeadroomOptions {
  /** The request about to be submitted: it is not "another" withdrawal, and approved ones queued behind it do not count. */
  executing?: { id: string; createdAt: Date };
  /** Read Klear even when the snapshot is fresh (the executor, right before submitting). */
  forceRefresh?: boolean;
}

/**
 * A failure to read Klear or to make sense of its answer becomes KLEAR_UNAVAILABLE (503, with the
 * reason); a database failure while keeping the answer (a lost connection, a connect timeout, a
 * refused statement) keeps its own error and answer (503 DATABASE_UNAVAILABLE, or 500 logged with an
 * error id): it is not a report that Klear was down.
 */
function klearUnavailable(error: unknown, what: string): unknown {
  // Klear's own errors first: their text may carry Klear's message, which can read like a database's.
  if (!(error instanceof KlearClientError) && isDatabaseError(error)) return error;
  return new BufferBalanceUnavailable(`${what}${error instanceof Error ? error.message : String(error)}`);
}

/** `available - not yet locked - reserve >= amount`, on a balance no older than the configured age. */
@Injectable()
export class BufferHeadroomService {
  constructor(
    @Inject(BUFFER_POSITION_SOURCE) private readonly position: BufferPositionSource,
    private readonly repository: WithdrawalRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async freshBalance(forceRefresh = false): Promise<{ reading: BufferBalanceReading; source: 'klear' | 'snapshot' }> {
    const maxAgeMs = this.config.withdrawals.balanceMaxAgeSeconds * 1000;
    if (!forceRefresh) {
      const latest = await this.position.latestBalance();
      if (latest && this.clock.nowMs() - latest.pulledAt.getTime() <= maxAgeMs) return { reading: latest, source: 'snapshot' };
    }
    try {
      return { reading: await this.position.refreshBalance(), source: 'klear' };
    } catch (error) {
      throw klearUnavailable(error, '');
    }
  }

  /** Headroom for a withdrawal of zero under `reserveFloor` (the policy's), with the pending-approval term beside it. */
  async now(reserveFloor: bigint): Promise<HeadroomNow> {
    const check = await this.assess(0n, reserveFloor);
    const pendingApproval = await this.repository.pendingApproval();
    return { check, pendingApproval, afterPendingApproval: check.headroom - pendingApproval.total };
  }

  async assess(amount: bigint, reserveFloor: bigint, options: HeadroomOptions = {}): Promise<HeadroomResult> {
    const { reading, source } = await this.freshBalance(options.forceRefresh);
    let obligations;
    let estimate;
    try {
      [obligations, estimate] = await Promise.all([this.position.activeObligations(), this.position.latestEstimate()]);
    } catch (error) {
      throw klearUnavailable(error, 'reserve figures: ');
    }
    const pending = await this.repository.notYetLocked(reading.pulledAt, options.executing);
    return checkHeadroom({
      amount,
      available: reading.available,
      locked: reading.locked,
      balancePulledAt: reading.pulledAt,
      balanceSource: source,
      notYetLocked: pending.total,
      notYetLockedRequestIds: pending.ids,
      // Several obligations can be active at once (one per asset class): each payable one is reserved,
      // a receivable one never offsets another class's payment. The same for each class's estimate.
      activeObligationPayable: sumCenticents(obligations.map((o) => payableOf(o.amountCenticents))),
      activeObligationId: obligations.map((o) => o.id).join(',') || null,
      activeObligations: obligations.map((o) => ({
        assetClass: o.assetClass,
        id: o.id,
        amount: o.amountCenticents,
        payable: payableOf(o.amountCenticents),
      })),
      estimatePayable: sumCenticents((estimate?.byAssetClass ?? []).map((e) => payableOf(e.totalAmountCenticents))),
      estimates: (estimate?.byAssetClass ?? []).map((e) => ({
        assetClass: e.assetClass,
        amount: e.totalAmountCenticents,
        payable: payableOf(e.totalAmountCenticents),
      })),
      estimatePulledAt: estimate?.pulledAt ?? null,
      reserveFloor,
    });
  }
}
