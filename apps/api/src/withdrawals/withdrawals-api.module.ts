import { Module } from '@nestjs/common';
import { AuthModule } from '@app/auth';
import { WithdrawalsModule } from '@app/withdrawals';
import { PendingWithdrawals } from './pending-withdrawals';
import { WithdrawalStepUpRepository } from './step-up.repository';
import { WithdrawalStepUpService } from './step-up.service';
import { AdminApiModule } from '../admin/admin-api.module';
import { HeadroomController } from './headroom.controller';
import { WithdrawalPolicyController, WithdrawalsController } from './withdrawals.controller';

/** Withdrawal routes (the KlearClient comes from ApiModule). The request path reads the buffer balance from Klear when the snapshot is stale. */
@Module({
  imports: [WithdrawalsModule, AuthModule, AdminApiModule],
  controllers: [WithdrawalsController, WithdrawalPolicyController, HeadroomController],
  providers: [WithdrawalStepUpRepository, WithdrawalStepUpService, PendingWithdrawals],
})
export class WithdrawalsApiModule {}
