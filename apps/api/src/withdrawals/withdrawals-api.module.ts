import { Module } from '@nestjs/common';
import { KlearClientModule } from '@app/klear-client';
import { WithdrawalsModule } from '@app/withdrawals';
import { WithdrawalPolicyController, WithdrawalsController } from './withdrawals.controller';

/** Withdrawal routes. The request path reads the buffer balance from Klear when the snapshot is stale. */
@Module({
  imports: [KlearClientModule.forRoot(), WithdrawalsModule],
  controllers: [WithdrawalsController, WithdrawalPolicyController],
})
export class WithdrawalsApiModule {}
