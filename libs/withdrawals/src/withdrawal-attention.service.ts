import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '@app/clock';
import type { WithdrawalRequest } from '@app/db';
import { formatUsdExact } from '@app/money';
import { WITHDRAWAL_ALERT_SINK, type WithdrawalAlert, type WithdrawalAlertSink } from './withdrawal-ports';
import { WithdrawalTransitions } from './withdrawal-transitions';
import { WithdrawalRepository, type WithdrawalTx } from './withdrawal.repository';

/** Why a person must look at a withdrawal. */
export const ATTENTION_REASONS = {
  wire_failed: 'Klear reports the withdrawal wire failed',
  klear_id_conflict: 'Klear answered with a withdrawal id that another request already holds: the answer is kept, nothing was claimed',
  klear_id_unconfirmed: "submitted, but Klear's status endpoint does not confirm a withdrawal id for it",
  outcome_ambiguous: "Klear's records fit more than one conclusion: a person must decide from them, nothing is sent meanwhile",
} as const;
export type AttentionReason = keyof typeof ATTENTION_REASONS;

/**
 * The one place where a withdrawal is flagged for a person: the flag and its details on the request
 * (`GET /withdrawals?needs_attention=true`), an audit row, and the alert to WITHDRAWAL_WEBHOOK_URL,
 * delivered by the poller until the webhook accepts it once. Notifications of any other kind belong
 * here too.
 */
@Injectable()
export class WithdrawalAttention {
  private readonly logger = new Logger('WithdrawalAttention');

  constructor(
    private readonly repository: WithdrawalRepository,
    private readonly transitions: WithdrawalTransitions,
    private readonly clock: Clock,
    @Inject(WITHDRAWAL_ALERT_SINK) private readonly alerts: WithdrawalAlertSink,
  ) {}

  /** Flags the request (in the caller's transaction, which holds its row lock); the same reason twice is one flag. */
  async raise(
    m: WithdrawalTx,
    request: WithdrawalRequest,
    reason: AttentionReason,
    actor: string,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    if (request.attentionReason === reason) return;
    const at = this.clock.now();
    await this.repository.setAttention(m, request.id, {
      attentionReason: reason,
      attentionDetails: details,
      attentionRaisedAt: at,
      attentionNotifiedAt: null,
    });
    await this.transitions.note(m, request, 'attention_raised', {
      actor,
      reason: ATTENTION_REASONS[reason],
      details: { attention_reason: reason, ...details },
    });
    Object.assign(request, { attentionReason: reason, attentionDetails: details, attentionRaisedAt: at, attentionNotifiedAt: null });
    this.logger.warn(`withdrawal ${request.id} needs attention: ${reason}`);
  }

  /** Lowers the flag when what it asked about was settled (audited with why). */
  async clear(m: WithdrawalTx, request: WithdrawalRequest, actor: string, why: string): Promise<void> {
    if (request.attentionReason === null) return;
    const was = request.attentionReason;
    await this.repository.setAttention(m, request.id, {
      attentionReason: null,
      attentionDetails: null,
      attentionRaisedAt: null,
      attentionNotifiedAt: null,
    });
    await this.transitions.note(m, request, 'attention_cleared', { actor, reason: why, details: { attention_reason: was } });
    Object.assign(request, { attentionReason: null, attentionDetails: null, attentionRaisedAt: null, attentionNotifiedAt: null });
  }

  /** Sends every flag the webhook has not accepted yet; answers how many went out and how many wait. */
  async deliverPending(actor: string): Promise<{ sent: number; pending: number }> {
    let sent = 0;
    let pending = 0;
    for (const id of await this.repository.attentionNotNotifiedIds()) {
      if (await this.deliver(id, actor)) sent += 1;
      else pending += 1;
    }
    return { sent, pending };
  }

  private async deliver(id: string, actor: string): Promise<boolean> {
    const request = await this.repository.findRequest(id);
    if (!request?.attentionReason) return true;
    const reason = request.attentionReason as AttentionReason;
    const alert: WithdrawalAlert = {
      event: reason === 'wire_failed' ? 'withdrawal.failed' : 'withdrawal.needs_attention',
      withdrawal_id: request.id,
      amount_centicents: request.amountCenticents.toString(),
      amount_usd: formatUsdExact(request.amountCenticents),
      klear_withdrawal_id: request.klearWithdrawalId,
      reason: ATTENTION_REASONS[reason] ?? reason,
      attention_reason: reason,
      details: request.attentionDetails ?? {},
    };
    try {
      await this.alerts.send(alert);
    } catch (error) {
      this.logger.error(`withdrawal ${id}: attention alert not delivered: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
    await this.repository.transaction(async (m) => {
      const locked = await this.repository.lockRequest(m, id);
      if (!locked || locked.attentionReason !== reason || locked.attentionNotifiedAt) return;
      await this.repository.markAttentionNotified(m, id, this.clock.now());
      await this.transitions.note(m, locked, 'attention_notified', {
        actor,
        reason: 'alert delivered to the withdrawal webhook',
        details: { ...alert },
      });
    });
    return true;
  }
}
