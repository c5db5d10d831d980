import { Inject, Injectable, Logger } from '@nestjs/common';
import { formatUsdExact } from '@app/money';
import { WITHDRAWAL_ALERT_SINK, WITHDRAWAL_KLEAR_PORT, type WithdrawalAlertSink, type WithdrawalKlearPort, type KlearWithdrawalView } from './withdrawal-ports';
import { WithdrawalTransitions } from './withdrawal-transitions';
import { WithdrawalRepository } from './withdrawal.repository';
import { WithdrawalDecisionService } from './withdrawal-decision.service';

const POLLER_ACTOR = 'withdrawal_poller';

export interface PollSummary {
  polled: number;
  moved: number;
  failed: number;
  unreadable: number;
  alertsSent: number;
  alertsPending: number;
}

/**
 * Follows submitted withdrawals at Klear to processed or failed; a failure is raised to operators
 * (webhook and audit) until the webhook has accepted it once.
 */
@Injectable()
export class WithdrawalTracking {
  private readonly logger = new Logger('WithdrawalTracking');

  constructor(
    private readonly repository: WithdrawalRepository,
    private readonly transitions: WithdrawalTransitions,
    @Inject(WITHDRAWAL_KLEAR_PORT) private readonly klear: WithdrawalKlearPort,
    @Inject(WITHDRAWAL_ALERT_SINK) private readonly alerts: WithdrawalAlertSink,
  ) {}

  async pollOnce(): Promise<PollSummary> {
    const summary: PollSummary = { polled: 0, moved: 0, failed: 0, unreadable: 0, alertsSent: 0, alertsPending: 0 };
    for (const id of await this.repository.idsInStates(['submitted', 'processing'], 'klear_withdrawal_id IS NOT NULL')) {
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
    for (const id of await this.repository.idsInStates(['failed'], 'failure_notified_at IS NULL')) {
      if (await this.raiseFailure(id)) summary.alertsSent += 1;
      else summary.alertsPending += 1;
    }
    return summary;
  }

  private async apply(id: string, view: KlearWithdrawalView): Promise<string | null> {
    return this.repository.transaction(async (m) => {
      const request = await this.repository.lockRequest(m, id);
      if (!request || (request.state !== 'submitted' && request.state !== 'processing')) return null;
      const details = { klear_withdrawal_id: view.id, klear_status: view.status };
      if (view.status === 'pending') {
        if (request.klearStatus !== 'pending') await m.query('UPDATE withdrawal_request SET klear_status = $2 WHERE id = $1', [id, 'pending']);
        return null;
      }
      if (view.status === 'processing') {
        if (request.state === 'processing') return null;
        await this.transitions.apply(m, request, 'processing', { actor: POLLER_ACTOR, reason: 'Klear is processing the wire', details, set: { klearStatus: 'processing' } });
        return 'processing';
      }
      if (view.status === 'processed') {
        await this.transitions.apply(m, request, 'processed', { actor: POLLER_ACTOR, reason: 'Klear processed the wire', details, set: { klearStatus: 'processed' } });
        return 'processed';
      }
      await this.transitions.apply(m, request, 'failed', { actor: POLLER_ACTOR, reason: 'Klear reports the wire failed; the amount returns to the buffer', details, set: { klearStatus: 'failed' } });
      return 'failed';
    });
  }

  /** Sends the alert, then records that it went out (audited). A webhook that is down is tried again next run. */
  private async raiseFailure(id: string): Promise<boolean> {
    const request = await this.repository.findRequest(id);
    if (!request) return false;
    const alert = {
      event: 'withdrawal.failed',
      withdrawal_id: request.id,
      amount_centicents: request.amountCenticents.toString(),
      amount_usd: formatUsdExact(request.amountCenticents),
      klear_withdrawal_id: request.klearWithdrawalId,
      reason: 'Klear reports the withdrawal wire failed',
    };
    try {
      await this.alerts.send(alert);
    } catch (error) {
      this.logger.error(`withdrawal ${id}: failure alert not delivered: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
    await this.repository.transaction(async (m) => {
      const locked = await this.repository.lockRequest(m, id);
      if (!locked || locked.failureNotifiedAt) return;
      await m.query('UPDATE withdrawal_request SET failure_notified_at = now() WHERE id = $1', [id]);
      await this.transitions.note(m, locked, 'failure_raised', { actor: POLLER_ACTOR, reason: 'failure raised to operators', details: alert });
    });
    return true;
  }
}

/** Ends requests whose time ran out before they were sent. */
@Injectable()
export class WithdrawalExpiry {
  constructor(
    private readonly repository: WithdrawalRepository,
    private readonly decisions: WithdrawalDecisionService,
  ) {}

  async expireDue(): Promise<number> {
    let expired = 0;
    for (const id of await this.repository.idsInStates(['pending_approval', 'approved'], 'expires_at <= now()')) {
      const done = await this.repository.transaction(async (m) => {
        const request = await this.repository.lockRequest(m, id);
        return request ? this.decisions.expireIfDue(m, request, 'withdrawal_expiry') : false;
      });
      if (done) expired += 1;
    }
    return expired;
  }
}
