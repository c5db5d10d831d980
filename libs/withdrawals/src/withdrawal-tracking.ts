import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '@app/clock';
import { KlearWithdrawalRepository } from '@app/ingestion';
import { WithdrawalAttention } from './withdrawal-attention.service';
import { WITHDRAWAL_KLEAR_PORT, type WithdrawalKlearPort, type KlearWithdrawalView } from './withdrawal-ports';
import { WithdrawalTransitions } from './withdrawal-transitions';
import { WithdrawalRepository } from './withdrawal.repository';
import { WithdrawalDecisionService } from './withdrawal-decision.service';

const POLLER_ACTOR = 'withdrawal_poller';

/** What each status Klear reports for a submitted withdrawal means for it (the reason of its state change). */
const KLEAR_STATUS_MEANS = {
  processing: 'Klear is processing the wire',
  processed: 'Klear processed the wire',
  failed: 'Klear reports the wire failed; the amount returns to the buffer',
} as const;

export interface PollSummary {
  polled: number;
  moved: number;
  failed: number;
  unreadable: number;
  /** Submitted requests without a Klear id whose id Klear's status endpoint confirmed. */
  idsConfirmed: number;
  alertsSent: number;
  alertsPending: number;
}

/**
 * Follows submitted withdrawals at Klear to processed or failed. A failed wire, and a submitted
 * request whose Klear id is missing and cannot be confirmed, are flagged for a person
 * (WithdrawalAttention), whose alerts this job delivers until the webhook accepts them.
 */
@Injectable()
export class WithdrawalTracking {
  private readonly logger = new Logger('WithdrawalTracking');

  constructor(
    private readonly repository: WithdrawalRepository,
    private readonly transitions: WithdrawalTransitions,
    private readonly attention: WithdrawalAttention,
    private readonly klearWithdrawals: KlearWithdrawalRepository,
    @Inject(WITHDRAWAL_KLEAR_PORT) private readonly klear: WithdrawalKlearPort,
  ) {}

  async pollOnce(): Promise<PollSummary> {
    const summary: PollSummary = { polled: 0, moved: 0, failed: 0, unreadable: 0, idsConfirmed: 0, alertsSent: 0, alertsPending: 0 };
    for (const id of await this.repository.submittedWithoutKlearId()) {
      try {
        if (await this.confirmMissingId(id)) summary.idsConfirmed += 1;
      } catch (error) {
        summary.unreadable += 1;
        this.logger.warn(`withdrawal ${id}: Klear id not confirmable now: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    for (const id of await this.repository.submittedWithKlearId()) {
      const request = await this.repository.findRequest(id);
      if (!request?.klearWithdrawalId) continue;
      let view: KlearWithdrawalView;
      try {
        view = await this.klear.getWithdrawal(request.klearWithdrawalId);
      } catch (error) {
        summary.unreadable += 1;
        this.logger.warn(`withdrawal ${id}: Klear status not readable: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      summary.polled += 1;
      const moved = await this.apply(id, view);
      if (moved) summary.moved += 1;
      if (moved === 'failed') summary.failed += 1;
    }
    const delivered = await this.attention.deliverPending(POLLER_ACTOR);
    summary.alertsSent = delivered.sent;
    summary.alertsPending = delivered.pending;
    return summary;
  }

  /**
   * A request submitted without a Klear id (recorded before ids were required) is never left alone:
   * the reference its resolution found is confirmed on Klear's status endpoint and becomes its id, or
   * the request is flagged for a person. Answers whether the id was confirmed.
   */
  private async confirmMissingId(id: string): Promise<boolean> {
    const detail = await this.repository.detail(id);
    if (!detail) return false;
    const attempt = detail.attempts.filter((a) => a.state === 'submitted').at(-1);
    const answered = detail.klearAnswers
      .filter((a) => a.attemptId === attempt?.id && a.klearWithdrawalId)
      .map((a) => a.klearWithdrawalId as string);
    const reference = answered[0] ?? (attempt?.resolution?.business_transaction_id as string | undefined) ?? null;
    const lookup = reference ? await this.klear.lookupWithdrawal(reference) : null;
    const confirmed = lookup?.found && lookup.view.amount === detail.request.amountCenticents ? lookup.view : null;
    return this.repository.transaction(async (m) => {
      const request = await this.repository.lockRequest(m, id);
      if (!request || request.klearWithdrawalId !== null || (request.state !== 'submitted' && request.state !== 'processing')) return false;
      const holder = confirmed ? await this.repository.requestHoldingKlearId(m, confirmed.id, id) : null;
      if (!confirmed || holder !== null) {
        await this.attention.raise(m, request, holder !== null ? 'klear_id_conflict' : 'klear_id_unconfirmed', POLLER_ACTOR, {
          reference,
          status_endpoint:
            lookup === null
              ? 'no reference to look up'
              : lookup.found
                ? { id: lookup.view.id, amount_centicents: lookup.view.amount.toString() }
                : { not_found: lookup.status },
          ...(holder !== null ? { held_by: holder } : {}),
        });
        return false;
      }
      await this.repository.setConfirmedKlearId(m, id, confirmed.id, confirmed.status);
      if (attempt) await this.repository.updateAttempt(m, attempt.id, { klearWithdrawalId: confirmed.id });
      await this.klearWithdrawals.register(m, { id: confirmed.id, amountCenticents: request.amountCenticents });
      await this.transitions.note(m, request, 'klear_id_confirmed', {
        actor: POLLER_ACTOR,
        reason: "Klear's status endpoint confirms the withdrawal id",
        details: { klear_withdrawal_id: confirmed.id, reference },
      });
      await this.attention.clear(m, request, POLLER_ACTOR, `Klear withdrawal ${confirmed.id} confirmed`);
      return true;
    });
  }

  private async apply(id: string, view: KlearWithdrawalView): Promise<string | null> {
    return this.repository.transaction(async (m) => {
      const request = await this.repository.lockRequest(m, id);
      if (!request || (request.state !== 'submitted' && request.state !== 'processing')) return null;
      const details = { klear_withdrawal_id: view.id, klear_status: view.status };
      if (view.status === 'pending') {
        if (request.klearStatus !== 'pending') await this.repository.setKlearStatus(m, id, 'pending');
        return null;
      }
      if (view.status === 'processing' && request.state === 'processing') return null;
      // Any other status Klear reports is a failed wire.
      const to = view.status === 'processing' || view.status === 'processed' ? view.status : 'failed';
      await this.transitions.apply(m, request, to, {
        actor: POLLER_ACTOR,
        reason: KLEAR_STATUS_MEANS[to],
        details,
        set: { klearStatus: to },
      });
      if (to === 'failed') await this.attention.raise(m, request, 'wire_failed', POLLER_ACTOR, details);
      return to;
    });
  }
}

/** Ends requests whose time ran out before they were sent. */
@Injectable()
export class WithdrawalExpiry {
  constructor(
    private readonly repository: WithdrawalRepository,
    private readonly decisions: WithdrawalDecisionService,
    private readonly clock: Clock,
  ) {}

  async expireDue(): Promise<number> {
    let expired = 0;
    for (const id of await this.repository.expiredOpenIds(this.clock.now())) {
      const done = await this.repository.transaction(async (m) => {
        const request = await this.repository.lockRequest(m, id);
        return request ? this.decisions.expireIfDue(m, request, 'withdrawal_expiry') : false;
      });
      if (done) expired += 1;
    }
    return expired;
  }
}
