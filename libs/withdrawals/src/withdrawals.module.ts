import { Module } from '@nestjs/common';
import { IngestionSharedModule } from '@app/ingestion';
import { NotificationOutbox } from '@app/notifications';
import { BufferHeadroomService } from './buffer-headroom.service';
import { IngestedBufferPosition, KlearClientWithdrawalPort, WebhookWithdrawalAlerts } from './klear-adapters';
import { ExecutorLeaseRepository } from './executor-lease.repository';
import { WithdrawalAttention } from './withdrawal-attention.service';
import { WithdrawalDecisionService } from './withdrawal-decision.service';
import { WithdrawalExecutor } from './withdrawal-executor';
import { WithdrawalExecutorJob, WithdrawalExpiryJob, WithdrawalPollerJob } from './withdrawal.job';
import { WithdrawalManualResolutions } from './withdrawal-manual-resolution.service';
import { WithdrawalOutcomeResolver } from './withdrawal-outcome-resolver';
import { WithdrawalPolicyRepository } from './withdrawal-policy.repository';
import { WithdrawalPolicyService } from './withdrawal-policy.service';
import { BUFFER_POSITION_SOURCE, WITHDRAWAL_ALERT_SINK, WITHDRAWAL_KLEAR_PORT } from './withdrawal-ports';
import { WithdrawalRequestService } from './withdrawal-request.service';
import { WithdrawalExpiry, WithdrawalTracking } from './withdrawal-tracking';
import { WithdrawalNotifications } from './withdrawal-notifications';
import { WithdrawalTransitions } from './withdrawal-transitions';
import { WithdrawalRepository } from './withdrawal.repository';

const WORKFLOW = [
  WithdrawalRepository,
  ExecutorLeaseRepository,
  NotificationOutbox,
  WithdrawalNotifications,
  WithdrawalTransitions,
  WithdrawalAttention,
  WithdrawalPolicyRepository,
  WithdrawalPolicyService,
  BufferHeadroomService,
  WithdrawalRequestService,
  WithdrawalDecisionService,
  WithdrawalOutcomeResolver,
  WithdrawalManualResolutions,
  WithdrawalExecutor,
  WithdrawalTracking,
  WithdrawalExpiry,
  { provide: WITHDRAWAL_KLEAR_PORT, useClass: KlearClientWithdrawalPort },
  { provide: BUFFER_POSITION_SOURCE, useClass: IngestedBufferPosition },
  { provide: WITHDRAWAL_ALERT_SINK, useClass: WebhookWithdrawalAlerts },
];

/**
 * The withdrawal workflow (request, policy, decisions, execution, tracking). Needs the database,
 * AuditModule, APP_CONFIG, ClockModule and KlearClientModule.forRoot() in the importing application.
 */
@Module({ imports: [IngestionSharedModule], providers: WORKFLOW, exports: WORKFLOW })
export class WithdrawalsModule {}

/** The worker's withdrawal jobs: withdrawal_executor, withdrawal_poller, withdrawal_expiry (needs JobsModule too). */
@Module({
  imports: [WithdrawalsModule],
  providers: [WithdrawalExecutorJob, WithdrawalPollerJob, WithdrawalExpiryJob],
})
export class WithdrawalJobsModule {}
