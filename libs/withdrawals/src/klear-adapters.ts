import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '@app/clock';
import { APP_CONFIG, type AppConfig } from '@app/config';
import { postSignedWebhook } from '@app/notifications';
import { BufferPositionReader } from '@app/ingestion';
import {
  type KlearAnswerData,
  KlearCircuitOpenError,
  KlearClient,
  KlearClientError,
  KlearHttpError,
  KlearNetworkError,
  KlearOutcomeUnknownError,
  type KlearResponse,
  released,
  KlearWriteNotSentError,
} from '@app/klear-client';
import { parseCenticents } from '@app/money';
import type {
  BufferBalanceReading,
  BufferPositionSource,
  EstimateReading,
  KlearBalanceMovement,
  KlearWithdrawalView,
  ObligationReading,
  SubmissionGuard,
  SubmissionOutcome,
  WithdrawalAlertSink,
  WithdrawalKlearPort,
  WithdrawalLookup,
} from './withdrawal-ports';

const WITHDRAW_ENDPOINT = 'POST /margin/withdraw_settlement_balance';

/** Classifies a failed POST: only a proven "not applied" is refused/not_sent; anything else is unknown. */
export function classifySubmissionError(error: unknown): SubmissionOutcome {
  if (error instanceof KlearOutcomeUnknownError) {
    const cause = (error as { cause?: unknown }).cause;
    return { kind: 'unknown', message: error.message, status: cause instanceof KlearHttpError ? cause.status : null };
  }
  if (error instanceof KlearCircuitOpenError || error instanceof KlearWriteNotSentError)
    return { kind: 'not_sent', message: error.message };
  if (error instanceof KlearNetworkError && !error.requestSent) return { kind: 'not_sent', message: error.message };
  if (error instanceof KlearHttpError && error.status < 500) {
    return { kind: 'refused', status: error.status, code: error.klearCode ?? null, message: error.klearMessage ?? error.message };
  }
  // A failure of another call (the session login) means the POST never left.
  if (error instanceof KlearClientError && error.endpoint !== WITHDRAW_ENDPOINT) return { kind: 'not_sent', message: error.message };
  return { kind: 'unknown', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error), status: null };
}

/** Klear's settlement balance answer as the workflow reads it (no locked figure: nothing locked). */
function balanceReading(answer: KlearResponse<KlearAnswerData<'settlementBalance'>>): BufferBalanceReading {
  return {
    available: answer.data.balance_available_centicents,
    locked: answer.data.locked_balance_centicents ?? 0n,
    pulledAt: answer.raw.receivedAt,
  };
}

/** The withdrawal workflow's view of Klear, through the product's one KlearClient. */
@Injectable()
export class KlearClientWithdrawalPort implements WithdrawalKlearPort {
  constructor(@Inject(KlearClient) private readonly client: KlearClient) {}

  async readBalance(): Promise<BufferBalanceReading> {
    return balanceReading(await released(this.client.getSettlementBalance()));
  }

  async submitWithdrawal(amount: bigint, guard: SubmissionGuard): Promise<SubmissionOutcome> {
    try {
      const answer = await this.client.withdrawSettlementBalance(amount, guard);
      return { kind: 'created', klearId: answer.data.id, status: answer.raw.status, body: answer.raw.body };
    } catch (error) {
      return classifySubmissionError(error);
    }
  }

  async lookupWithdrawal(id: string): Promise<WithdrawalLookup> {
    try {
      return { found: true, view: await this.getWithdrawal(id) };
    } catch (error) {
      // Klear answers a 4xx for an id it does not know as a withdrawal (400 today, 404 would mean the same).
      if (
        error instanceof KlearHttpError &&
        error.status >= 400 &&
        error.status < 500 &&
        error.status !== 429 &&
        error.status !== 401 &&
        error.status !== 403
      ) {
        return { found: false, status: error.status, message: error.klearMessage ?? error.message };
      }
      throw error;
    }
  }

  async getWithdrawal(id: string): Promise<KlearWithdrawalView> {
    const answer = await released(this.client.getWithdrawal(id));
    return { id: answer.data.id, amount: answer.data.amount_centicents, status: answer.data.status, createdTs: answer.data.created_ts };
  }

  async balanceHistoryPage(cursor?: string): Promise<{ entries: KlearBalanceMovement[]; cursor?: string }> {
    const answer = await released(this.client.getSettlementBalanceHistory({ limit: 500, cursor }));
    return {
      entries: answer.data.entries.map((e) => ({
        balanceDelta: e.balance_delta_centicents,
        lockedDelta: e.locked_balance_delta_centicents,
        reason: e.reason,
        businessTransactionId: e.business_transaction_id,
        createdTs: e.created_ts,
      })),
      cursor: answer.data.cursor ?? undefined,
    };
  }
}

/**
 * Buffer figures from the ingestion tables; a figure older than WITHDRAWAL_BALANCE_MAX_AGE_SECONDS
 * (or never pulled) is read from Klear first and kept the way ingestion keeps it (archived, then
 * interpreted into its snapshot table).
 */
@Injectable()
export class IngestedBufferPosition implements BufferPositionSource {
  constructor(
    private readonly ingested: BufferPositionReader,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async latestBalance(): Promise<BufferBalanceReading | null> {
    const row = await this.ingested.latestBalance();
    if (!row) return null;
    return {
      available: parseCenticents(row.available_centicents),
      locked: row.locked_centicents === null ? 0n : parseCenticents(row.locked_centicents),
      pulledAt: row.pulled_at,
    };
  }

  async refreshBalance(): Promise<BufferBalanceReading> {
    return balanceReading(await this.ingested.refreshBalance());
  }

  async activeObligations(): Promise<ObligationReading[]> {
    let active = await this.ingested.activeObligations();
    if (!active || this.stale(active.pulledAt)) {
      await this.ingested.refreshActiveObligations();
      active = await this.ingested.activeObligations();
    }
    return (active?.obligations ?? []).map((o) => ({
      id: o.id,
      assetClass: o.asset_class,
      amountCenticents: parseCenticents(o.amount_centicents),
    }));
  }

  async latestEstimate(): Promise<EstimateReading | null> {
    let latest = await this.ingested.latestEstimateByAssetClass();
    if (!latest || this.stale(latest.pulled_at)) {
      await this.ingested.refreshEstimateByAssetClass();
      latest = await this.ingested.latestEstimateByAssetClass();
    }
    if (!latest) return null;
    const byAssetClass = latest.lines
      .filter((l) => l.scope === 'user' && l.asset_class !== '')
      .map((l) => ({ assetClass: l.asset_class, totalAmountCenticents: parseCenticents(l.total_amount_centicents) }));
    return { byAssetClass, pulledAt: latest.pulled_at };
  }

  private stale(pulledAt: Date): boolean {
    return this.clock.nowMs() - pulledAt.getTime() > this.config.withdrawals.balanceMaxAgeSeconds * 1000;
  }
}

/**
 * POSTs a failure to WITHDRAWAL_WEBHOOK_URL: ids, amount and reason only, never a secret. Signed
 * (HMAC-SHA256 over `<timestamp>.<body>` with WITHDRAWAL_WEBHOOK_SECRET, docs/security.md
 * "Withdrawal webhook"), never redirected, and tried at most WITHDRAWAL_WEBHOOK_MAX_ATTEMPTS times
 * per delivery (network errors, timeouts, 429 and 5xx are retried with backoff; other answers are
 * not). The poller delivers again on its next run until one delivery is accepted.
 */
@Injectable()
export class WebhookWithdrawalAlerts implements WithdrawalAlertSink {
  private readonly logger = new Logger('WithdrawalAlerts');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async send(alert: Parameters<WithdrawalAlertSink['send']>[0]): Promise<void> {
    const { webhookUrl: url, webhookSecret, webhookMaxAttempts } = this.config.withdrawals;
    if (!url) {
      this.logger.error(
        `withdrawal ${alert.withdrawal_id} needs attention (${alert.event}: ${alert.reason}); no WITHDRAWAL_WEBHOOK_URL configured: raised in the API and the audit log only`,
      );
      return;
    }
    const body = JSON.stringify(alert);
    const deliveryId = randomUUID();
    let lastProblem = '';
    for (let attempt = 1; attempt <= webhookMaxAttempts; attempt++) {
      const result = await postSignedWebhook({ url, secret: webhookSecret, body, deliveryId, nowMs: this.clock.nowMs() });
      if (result.ok) return;
      lastProblem = result.problem;
      if (!result.retryable || attempt === webhookMaxAttempts) break;
      await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** (attempt - 1)));
    }
    throw new Error(`the withdrawal webhook ${lastProblem}`);
  }
}
